"""Runs the official HighLevel Python SDK (gohighlevel-api-client), unmodified, against
`tether sim ghl`: contact calls with a private integration token. The SDK sends `Version: v3`
on every call, on the unprefixed paths (`/contacts/...`).

Environment: GHL_SIM_URL (the simulator's base URL), GHL_PIT (a PIT it accepts) and
GHL_LOCATION_ID (its seeded location). Prints each call's result; exits 1 on the first failure.

The SDK has no base URL option; its client exposes the httpx client it sends with
(`http_client`), whose base URL is pointed at the simulator.
"""

import asyncio
import json
import os
import sys
import time

from highlevel import HighLevel


def required(name):
    value = os.environ.get(name)
    if not value:
        print(f"contacts.py: set {name}", file=sys.stderr)
        sys.exit(2)
    return value


class Steps:
    """Runs calls in order, printing each result and stopping at the first failure."""

    def __init__(self):
        self.count = 0

    async def call(self, name, run, check):
        self.count += 1
        try:
            result = await run()
        except Exception as error:  # The SDK raises GHLError; anything else is a failure too.
            print(f"FAIL {self.count} {name}: {type(error).__name__}: {error}", file=sys.stderr)
            sys.exit(1)
        problem = check(result)
        if problem:
            print(f"FAIL {self.count} {name}: {problem}: {json.dumps(result)}", file=sys.stderr)
            sys.exit(1)
        print(f"ok {self.count} {name}: {json.dumps(result)}")
        return result


async def main():
    base_url = required("GHL_SIM_URL")
    token = required("GHL_PIT")
    location_id = required("GHL_LOCATION_ID")

    ghl = HighLevel(private_integration_token=token, log_level="error")
    ghl.http_client.base_url = base_url
    contacts = ghl.contacts
    steps = Steps()
    email = f"python-sdk-{int(time.time() * 1000)}@example.com"

    created = await steps.call(
        "create_contact",
        lambda: contacts.create_contact(
            {
                "locationId": location_id,
                "firstName": "Pia",
                "lastName": "Python",
                "email": email,
                "dndSettings": {"call": {"status": "active", "message": "no calls"}},
            }
        ),
        lambda r: None if r.get("contact", {}).get("id") else "no contact id",
    )
    contact_id = created["contact"]["id"]

    await steps.call(
        "get_contact",
        lambda: contacts.get_contact(contact_id),
        lambda r: None
        if r["contact"].get("dndSettings", {}).get("call", {}).get("status") == "active"
        else "v3 dndSettings.call missing",
    )
    await steps.call(
        "update_contact",
        lambda: contacts.update_contact(contact_id, {"city": "Leuven"}),
        lambda r: None if r.get("succeeded") is True and r["contact"].get("city") == "Leuven" else "not updated",
    )
    await steps.call(
        "upsert_contact",
        lambda: contacts.upsert_contact({"locationId": location_id, "email": email, "lastName": "Upserted"}),
        lambda r: None if r.get("new") is False and r["contact"]["id"] == contact_id else "not matched",
    )
    await steps.call(
        "add_tags",
        lambda: contacts.add_tags(contact_id, {"tags": ["silver"]}),
        lambda r: None if "silver" in r.get("tags", []) else "tag missing",
    )
    note = await steps.call(
        "create_note",
        lambda: contacts.create_note(contact_id, {"body": "Prefers peonies"}),
        lambda r: None if r.get("note", {}).get("id") else "no note id",
    )
    await steps.call(
        "get_all_notes",
        lambda: contacts.get_all_notes(contact_id),
        lambda r: None if any(n["id"] == note["note"]["id"] for n in r.get("notes", [])) else "note not listed",
    )
    await steps.call(
        "search_contacts_advanced",
        lambda: contacts.search_contacts_advanced({"locationId": location_id, "pageLimit": 20, "query": email}),
        lambda r: None if any(c["id"] == contact_id for c in r.get("contacts", [])) else "contact not found",
    )
    await steps.call(
        "get_duplicate_contact",
        lambda: contacts.get_duplicate_contact(location_id, email=email),
        lambda r: None if (r.get("contact") or {}).get("id") == contact_id else "duplicate not found",
    )
    await steps.call(
        "remove_contact_from_every_campaign",
        lambda: contacts.remove_contact_from_every_campaign(contact_id),
        lambda r: None if r.get("succeeded") is True else "not removed",
    )
    await steps.call(
        "delete_contact",
        lambda: contacts.delete_contact(contact_id),
        lambda r: None if r.get("succeeded") is True else "not deleted",
    )
    await ghl.http_client.aclose()
    print(f"all {steps.count} calls passed")


if __name__ == "__main__":
    asyncio.run(main())
