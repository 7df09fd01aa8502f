// Samples for the mapping preview page and tests: GHL's ContactCreate webhook example
// (crates/tether-sim/spec/ghl/webhook-examples/ContactCreate.json) and the input schema of
// details_flowers.customer.create as `tether catalog details_flowers.customer.create --json` prints it.

export const CONTACT_CREATE = {
  "type": "ContactCreate",
  "locationId": "ve9EPM428h8vShlRW1KT",
  "id": "nmFmQEsNgz6AVpgLVUJ0",
  "address1": "3535 1st St N",
  "city": "ruDolomitebika",
  "state": "AL",
  "companyName": "Loram ipsum",
  "country": "DE",
  "source": "xyz form",
  "dateAdded": "2021-11-26T12:41:02.193Z",
  "dateOfBirth": "2000-01-05T00:00:00.000Z",
  "dnd": true,
  "email": "JohnDeo@gmail.comm",
  "name": "John Deo",
  "firstName": "John",
  "lastName": "Deo",
  "phone": "+919509597501",
  "postalCode": "452001",
  "tags": ["id magna sed Lorem", "Duis dolor commodo aliqua"],
  "website": "https://www.google.com/",
  "attachments": [],
  "assignedTo": "nmFmQEsNgz6AVpgLVUJ0",
  "customFields": [
    {
      "id": "BcdmQEsNgz6AVpgLVUJ0",
      "value": "XYZ Corp"
    }
  ]
};

export const CUSTOMER_CREATE_INPUT = {
  "additionalProperties": false,
  "properties": {
    "email": {
      "format": "email",
      "type": "string"
    },
    "full_name": {
      "type": "string"
    },
    "ghl_contact_id": {
      "anyOf": [
        {
          "description": "The linked HighLevel contact.",
          "type": "string"
        },
        {
          "type": "null"
        }
      ]
    },
    "notes_text": {
      "anyOf": [
        {
          "type": "string"
        },
        {
          "type": "null"
        }
      ]
    },
    "phone": {
      "anyOf": [
        {
          "type": "string"
        },
        {
          "type": "null"
        }
      ]
    }
  },
  "required": [
    "email",
    "full_name"
  ],
  "type": "object"
};
