// @vitest-environment jsdom
// The mapping components in a DOM: what a person sees (labels, roles) and what the editor gets
// back through the props' callbacks. Previews need the server and are the browser journey's.
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { FIELD_MIME, type DataSource } from '../editor/types';
import DataPanel from './DataPanel.svelte';
import FilterBuilder from './FilterBuilder.svelte';
import MapEditor from './MapEditor.svelte';
import SchemaForm from './SchemaForm.svelte';
import { CONTACT_CREATE, CUSTOMER_CREATE_INPUT } from './examples';

const trigger: DataSource = { root: 'trigger', label: 'Trigger: new GHL contact', value: CONTACT_CREATE, origin: 'example' };

/** A drag's data, as the data panel sets it and a drop target reads it. */
class Transfer {
  data = new Map<string, string>();
  dropEffect = 'none';
  effectAllowed = 'all';
  get types() {
    return [...this.data.keys()];
  }
  setData(type: string, value: string) {
    this.data.set(type, value);
  }
  getData(type: string) {
    return this.data.get(type) ?? '';
  }
}

function dropped(ref: string): Transfer {
  const transfer = new Transfer();
  transfer.setData(FIELD_MIME, ref);
  transfer.setData('text/plain', `{{ ${ref} }}`);
  return transfer;
}

/** Records the calls of a callback. */
function recorder<A extends unknown[]>() {
  const calls: A[] = [];
  const fn = (...args: A) => {
    calls.push(args);
  };
  return { calls, fn };
}

describe('DataPanel', () => {
  it('shows readable labels with sample values, one region per source', () => {
    render(DataPanel, { sources: [trigger, { root: 'steps.customer.output', label: 'customer (map)', value: undefined }] });
    const region = screen.getByRole('region', { name: 'Trigger: new GHL contact' });
    const email = within(region).getByRole('button', { name: 'Email' });
    expect(email.getAttribute('title')).toBe('trigger.email');
    expect(document.getElementById(email.getAttribute('aria-describedby')!)?.textContent).toBe('JohnDeo@gmail.comm');
    expect(within(region).getByRole('button', { name: 'First name' })).toBeTruthy();
    // A list of records shows its first record's fields, with the [0] in the reference only.
    expect(within(region).getByRole('button', { name: 'Value' }).getAttribute('title')).toBe('trigger.customFields[0].value');
    expect(within(screen.getByRole('region', { name: 'customer (map)' })).getByText('No sample yet.')).toBeTruthy();
  });

  it('hands a clicked field’s reference to onpick, and a dragged one’s to the drop', async () => {
    const pick = recorder<[string]>();
    render(DataPanel, { sources: [trigger], onpick: pick.fn });
    const phone = screen.getByRole('button', { name: 'Phone' });
    await fireEvent.click(phone);
    expect(pick.calls).toEqual([['trigger.phone']]);
    const transfer = new Transfer();
    await fireEvent.dragStart(phone, { dataTransfer: transfer });
    expect(transfer.getData(FIELD_MIME)).toBe('trigger.phone');
    expect(transfer.getData('text/plain')).toBe('{{ trigger.phone }}');
  });

  it('opens and closes records and lists', async () => {
    render(DataPanel, { sources: [trigger] });
    const tags = screen.getByRole('button', { name: 'Fields of Tags' });
    expect(tags.getAttribute('aria-expanded')).toBe('true');
    expect(screen.getByRole('button', { name: 'Item 2' }).getAttribute('title')).toBe('trigger.tags[1]');
    await fireEvent.click(tags);
    expect(tags.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByRole('button', { name: 'Item 2' })).toBeNull();
  });

  it('draws at most 200 fields of a level, then more on request', async () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`field${i}`, i]));
    render(DataPanel, { sources: [{ root: 'trigger', label: 'Wide', value: wide }] });
    expect(screen.getAllByRole('button', { name: /^Field \d+$/ }).length).toBe(200);
    await fireEvent.click(screen.getByRole('button', { name: /Show 200 more \(800 not shown\)/ }));
    expect(screen.getAllByRole('button', { name: /^Field \d+$/ }).length).toBe(400);
  });

  it('draws a 5 MB sample quickly', () => {
    const orders = Array.from({ length: 20_000 }, (_, i) => ({ id: `o${i}`, email: `c${i}@example.com`, note: 'n'.repeat(220) }));
    const big = { orders, byId: Object.fromEntries(orders.map((o) => [o.id, o])), blob: 'x'.repeat(200_000) };
    expect(JSON.stringify(big).length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    render(DataPanel, { sources: [{ root: 'steps.big.output', label: 'Big', value: big }] });
    const elapsed = performance.now() - started;
    // The 20,000-key record is closed (too many to open by default); the list shows one record's fields.
    expect(screen.getByRole('button', { name: 'Fields of By ID' }).getAttribute('aria-expanded')).toBe('false');
    expect(screen.getByRole('button', { name: 'Note' }).getAttribute('title')).toBe('steps.big.output.orders[0].note');
    expect(document.querySelectorAll('button[draggable]').length).toBeLessThan(20);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('SchemaForm', () => {
  function form(props: Partial<{ value: Record<string, unknown>; diagnostics: { key: string; message: string }[]; write: Record<string, 'always' | 'if_empty' | 'never'> }> = {}) {
    const change = recorder<[string, unknown]>();
    const write = recorder<[string, string | undefined]>();
    const value = props.value ?? {};
    const result = render(SchemaForm, {
      schema: CUSTOMER_CREATE_INPUT,
      value,
      onchange: (key: string, next: unknown) => {
        change.fn(key, next);
        if (next === undefined) delete value[key];
        else value[key] = next;
        result.rerender({ value: { ...value } });
      },
      diagnostics: props.diagnostics ?? [],
      write: props.write,
      onwrite: write.fn,
    });
    return { change, write, result };
  }

  it('labels each input with its field, required ones first', () => {
    form();
    const inputs = screen.getAllByRole('textbox');
    expect(inputs.map((input) => input.id)).toEqual(['Email', 'Full name', 'GHL contact ID', 'Notes text', 'Phone'].map((label) => screen.getByLabelText(label, { exact: true }).id));
    expect(screen.getByLabelText('Email', { exact: true }).getAttribute('aria-required')).toBe('true');
    expect(screen.getByLabelText('Phone', { exact: true }).getAttribute('aria-required')).toBeNull();
    expect(screen.getByText('The linked HighLevel contact.')).toBeTruthy();
  });

  it('makes a dropped field the expression {{ ref }}, and adds a second at the end', async () => {
    const { change } = form();
    const email = screen.getByLabelText('Email', { exact: true });
    await fireEvent.drop(email, { dataTransfer: dropped('trigger.email') });
    expect(change.calls.at(-1)).toEqual(['email', '{{ trigger.email }}']);
    const input = screen.getByLabelText('Email', { exact: true }) as HTMLInputElement;
    expect(input.value).toBe('{{ trigger.email }}');
    await fireEvent.drop(input, { dataTransfer: dropped('trigger.name') });
    expect(change.calls.at(-1)).toEqual(['email', '{{ trigger.email }} {{ trigger.name }}']);
  });

  it('switches fixed ↔ expression without losing either value (rule 13)', async () => {
    const { change } = form({ value: { full_name: 'Jane Doe' } });
    const fixed = screen.getByLabelText('Full name', { exact: true }) as HTMLInputElement;
    expect(fixed.value).toBe('Jane Doe');
    await fireEvent.click(screen.getByRole('button', { name: 'Full name: expression' }));
    expect(change.calls.at(-1)).toEqual(['full_name', undefined]);
    const expression = screen.getByLabelText('Full name', { exact: true }) as HTMLInputElement;
    await fireEvent.input(expression, { target: { value: '{{ trigger.name }}' } });
    expect(change.calls.at(-1)).toEqual(['full_name', '{{ trigger.name }}']);
    await fireEvent.click(screen.getByRole('button', { name: 'Full name: fixed value' }));
    expect(change.calls.at(-1)).toEqual(['full_name', 'Jane Doe']);
    expect((screen.getByLabelText('Full name', { exact: true }) as HTMLInputElement).value).toBe('Jane Doe');
    await fireEvent.click(screen.getByRole('button', { name: 'Full name: expression' }));
    expect(change.calls.at(-1)).toEqual(['full_name', '{{ trigger.name }}']);
    expect(screen.getByRole('button', { name: 'Full name: expression' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('shows a diagnostic under its field, tied to the input', () => {
    form({ diagnostics: [{ key: 'email', message: "undefined variable 'trigger.emial'" }, { key: 'nope', message: 'unknown field' }] });
    const email = screen.getByLabelText('Email', { exact: true });
    expect(email.getAttribute('aria-invalid')).toBe('true');
    const described = (email.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '');
    expect(described.join(' ')).toContain("undefined variable 'trigger.emial'");
    expect(screen.getByLabelText('Phone', { exact: true }).getAttribute('aria-invalid')).toBeNull();
    expect(screen.getByRole('list', { name: 'Other problems' }).textContent).toBe('nope: unknown field');
  });

  it('keeps keys the schema does not know, removable', async () => {
    const { change } = form({ value: { email: '{{ trigger.email }}', extra: 5 } });
    expect((screen.getByLabelText('Extra', { exact: true }) as HTMLTextAreaElement).value).toBe('5');
    await fireEvent.click(screen.getByRole('button', { name: 'Remove Extra' }));
    expect(change.calls.at(-1)).toEqual(['extra', undefined]);
  });

  it('asks when to write each field', async () => {
    const { write } = form({ write: { phone: 'if_empty' } });
    const phone = screen.getByLabelText('When to write Phone') as HTMLSelectElement;
    expect(phone.value).toBe('if_empty');
    await fireEvent.change(screen.getByLabelText('When to write Email'), { target: { value: 'never' } });
    expect(write.calls).toEqual([['email', 'never']]);
    await fireEvent.change(phone, { target: { value: '' } });
    expect(write.calls.at(-1)).toEqual(['phone', undefined]);
  });

  it('uses typed controls and refuses what is not a value', async () => {
    const change = recorder<[string, unknown]>();
    render(SchemaForm, {
      schema: {
        type: 'object',
        required: ['count'],
        properties: { count: { type: 'integer' }, vip: { type: 'boolean' }, status: { enum: ['new', 'done'] } },
      },
      value: {},
      onchange: change.fn,
    });
    const count = screen.getByLabelText('Count', { exact: true }) as HTMLInputElement;
    expect(count.type).toBe('number');
    await fireEvent.input(count, { target: { value: '2.5' } });
    expect(change.calls).toEqual([]);
    expect(count.getAttribute('aria-invalid')).toBe('true');
    await fireEvent.input(count, { target: { value: '3' } });
    expect(change.calls).toEqual([['count', 3]]);
    await fireEvent.click(screen.getByLabelText('Vip', { exact: true }));
    expect(change.calls.at(-1)).toEqual(['vip', true]);
    await fireEvent.change(screen.getByLabelText('Status', { exact: true }), { target: { value: '"done"' } });
    expect(change.calls.at(-1)).toEqual(['status', 'done']);
  });
});

describe('MapEditor', () => {
  const targets = [
    { key: 'email', title: 'Email', required: true },
    { key: 'full_name', title: 'Full name', required: true },
    { key: 'phone', title: 'Phone' },
    { key: 'ghl_contact_id', title: 'GHL contact ID' },
  ];

  it('auto-maps the empty targets by name and says how many', async () => {
    const change = recorder<[Record<string, unknown>]>();
    render(MapEditor, { fields: { phone: '{{ trigger.phone | e164 }}' }, targets, sources: [trigger], onchange: change.fn });
    await fireEvent.click(screen.getByRole('button', { name: 'Auto-map by name' }));
    expect(change.calls).toEqual([
      [
        {
          phone: '{{ trigger.phone | e164 }}',
          email: '{{ trigger.email }}',
          full_name: '{{ full_name(trigger.firstName | default(none), trigger.lastName | default(none)) }}',
        },
      ],
    ]);
    expect(screen.getByRole('status').textContent).toBe('Mapped 2 fields by name: Email, Full name.');
  });

  it('fills a target from a drop, and the focused one from a click in the left column', async () => {
    let fields: Record<string, unknown> = {};
    const result = render(MapEditor, {
      fields,
      targets,
      sources: [trigger],
      onchange: (next: Record<string, unknown>) => {
        fields = next;
        result.rerender({ fields });
      },
    });
    await fireEvent.drop(screen.getByLabelText('Email', { exact: true }), { dataTransfer: dropped('trigger.email') });
    expect(fields).toEqual({ email: '{{ trigger.email }}' });
    await fireEvent.focus(screen.getByLabelText('GHL contact ID', { exact: true }));
    await fireEvent.click(screen.getByTitle('trigger.id'));
    expect(fields).toEqual({ email: '{{ trigger.email }}', ghl_contact_id: '{{ trigger.id }}' });
  });

  it('adds and removes free fields', async () => {
    let fields: Record<string, unknown> = { kept: '{{ trigger.city }}' };
    const result = render(MapEditor, {
      fields,
      targets,
      sources: [trigger],
      onchange: (next: Record<string, unknown>) => {
        fields = next;
        result.rerender({ fields });
      },
    });
    expect((screen.getByLabelText('Kept', { exact: true }) as HTMLInputElement).value).toBe('{{ trigger.city }}');
    await fireEvent.input(screen.getByLabelText('New field name'), { target: { value: 'source_tag' } });
    await fireEvent.submit(screen.getByRole('button', { name: 'Add field' }));
    const added = screen.getByLabelText('Source tag', { exact: true });
    await fireEvent.input(added, { target: { value: 'ghl' } });
    expect(fields).toEqual({ kept: '{{ trigger.city }}', source_tag: 'ghl' });
    await fireEvent.click(screen.getByRole('button', { name: 'Remove Kept' }));
    expect(fields).toEqual({ source_tag: 'ghl' });
  });
});

describe('FilterBuilder', () => {
  function filter(when: string) {
    const change = recorder<[string]>();
    const result = render(FilterBuilder, {
      when,
      sources: [trigger],
      onchange: (next: string) => {
        change.fn(next);
        result.rerender({ when: next });
      },
    });
    return change;
  }

  it('builds "email is set" from the sample’s fields', async () => {
    const change = filter('');
    const row = screen.getByRole('listitem', { name: 'Condition 1' });
    await fireEvent.change(within(row).getByLabelText('Field'), { target: { value: 'trigger.email' } });
    expect(change.calls.at(-1)).toEqual(['{{ trigger.email is defined and trigger.email }}']);
    expect(screen.getByRole('status', { name: 'Filter expression' }).textContent).toBe('{{ trigger.email is defined and trigger.email }}');
  });

  it('types a value by the sample field’s kind, and takes a dropped field', async () => {
    const change = filter('');
    const row = screen.getByRole('listitem', { name: 'Condition 1' });
    await fireEvent.drop(row, { dataTransfer: dropped('trigger.dnd') });
    await fireEvent.change(within(row).getByLabelText('Operator'), { target: { value: 'equals' } });
    await fireEvent.input(within(row).getByLabelText('Value'), { target: { value: 'true' } });
    expect(change.calls.at(-1)).toEqual(['{{ trigger.dnd is defined and trigger.dnd == true }}']);
  });

  it('reads its own expressions back as conditions', () => {
    filter('{{ (trigger.email is defined and trigger.email) or (trigger.country is defined and trigger.country == "DE") }}');
    expect((screen.getByLabelText('Pass when') as HTMLSelectElement).value).toBe('any');
    const second = screen.getByRole('listitem', { name: 'Condition 2' });
    expect((within(second).getByLabelText('Field') as HTMLSelectElement).value).toBe('trigger.country');
    expect((within(second).getByLabelText('Value') as HTMLInputElement).value).toBe('DE');
  });

  it('keeps a when it cannot show as conditions as text, never lost', async () => {
    const when = '{{ trigger.tags | length > 1 }}';
    const change = filter(when);
    const text = screen.getByLabelText('Condition expression') as HTMLInputElement;
    expect(text.value).toBe(when);
    expect(change.calls).toEqual([]);
    expect((screen.getByRole('button', { name: 'Edit as conditions' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(text, { target: { value: '{{ trigger.email is defined and trigger.email }}' } });
    expect(change.calls.at(-1)).toEqual(['{{ trigger.email is defined and trigger.email }}']);
    await fireEvent.click(screen.getByRole('button', { name: 'Edit as conditions' }));
    expect((within(screen.getByRole('listitem', { name: 'Condition 1' })).getByLabelText('Field') as HTMLSelectElement).value).toBe('trigger.email');
  });
});
