// Runs the official HighLevel Node SDK (@gohighlevel/api-client), unmodified and with its default
// `Version` header, against `tether sim ghl`: contact calls with a private integration token.
//
// Environment: GHL_SIM_URL (the simulator's base URL), GHL_PIT (a PIT it accepts) and
// GHL_LOCATION_ID (its seeded location). Prints each call's result; exits 1 on the first failure.
//
// The SDK has no base URL option; it documents access to its HTTP client (getHttpClient, an
// axios instance), whose base URL is pointed at the simulator.

import { HighLevel } from '@gohighlevel/api-client';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`contacts.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const baseURL = required('GHL_SIM_URL');
const token = required('GHL_PIT');
const locationId = required('GHL_LOCATION_ID');

const ghl = new HighLevel({ privateIntegrationToken: token, logLevel: 'error' });
ghl.getHttpClient().defaults.baseURL = baseURL;
const contacts = ghl.contacts;

let step = 0;
async function call(name, run, check) {
  step += 1;
  let result;
  try {
    result = await run();
  } catch (error) {
    const status = error.statusCode ?? error.response?.status ?? 'no status';
    const body = JSON.stringify(error.response ?? error.response?.data ?? null);
    console.error(`FAIL ${step} ${name}: ${error.message} (${status}) ${body}`);
    process.exit(1);
  }
  const problem = check(result);
  if (problem) {
    console.error(`FAIL ${step} ${name}: ${problem}: ${JSON.stringify(result)}`);
    process.exit(1);
  }
  console.log(`ok ${step} ${name}: ${JSON.stringify(result)}`);
  return result;
}

const stamp = Date.now();
const email = `node-sdk-${stamp}@example.com`;

const created = await call(
  'createContact',
  () => contacts.createContact({ locationId, firstName: 'Nora', lastName: 'Node', email, tags: ['sdk'] }),
  (r) => (r?.contact?.id ? null : 'no contact id'),
);
const contactId = created.contact.id;

await call(
  'getContact',
  () => contacts.getContact({ contactId }),
  (r) => (r?.contact?.email === email ? null : 'wrong e-mail'),
);
await call(
  'updateContact',
  () => contacts.updateContact({ contactId }, { city: 'Ghent' }),
  (r) => (r?.contact?.city === 'Ghent' && r?.succeded === true ? null : 'not updated'),
);
await call(
  'upsertContact',
  () => contacts.upsertContact({ locationId, email, lastName: 'Upserted' }),
  (r) => (r?.new === false && r?.contact?.id === contactId ? null : 'not matched to the same contact'),
);
await call(
  'addTags',
  () => contacts.addTags({ contactId }, { tags: ['gold'] }),
  (r) => (Array.isArray(r?.tags) && r.tags.includes('gold') ? null : 'tag missing'),
);
await call(
  'removeTags',
  () => contacts.removeTags({ contactId }, { tags: ['sdk'] }),
  (r) => (Array.isArray(r?.tags) && !r.tags.includes('sdk') ? null : 'tag still there'),
);
const note = await call(
  'createNote',
  () => contacts.createNote({ contactId }, { body: 'Prefers tulips' }),
  (r) => (r?.note?.id ? null : 'no note id'),
);
await call(
  'getAllNotes',
  () => contacts.getAllNotes({ contactId }),
  (r) => (r?.notes?.some((n) => n.id === note.note.id) ? null : 'note not listed'),
);
await call(
  'createTask',
  () =>
    contacts.createTask({ contactId }, { title: 'Call back', dueDate: '2030-01-01T10:00:00Z', completed: false }),
  (r) => (r?.task?.id ? null : 'no task id'),
);
await call(
  'searchContactsAdvanced',
  () => contacts.searchContactsAdvanced({ locationId, pageLimit: 20, query: email }),
  (r) => (r?.contacts?.some((c) => c.id === contactId) ? null : 'contact not found'),
);
await call(
  'getDuplicateContact',
  () => contacts.getDuplicateContact({ locationId, email }),
  (r) => (r?.contact?.id === contactId ? null : 'duplicate not found'),
);
await call(
  'deleteContact',
  () => contacts.deleteContact({ contactId }),
  (r) => (r?.succeded === true ? null : 'not deleted'),
);

console.log(`all ${step} calls passed`);
