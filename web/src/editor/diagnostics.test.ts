import { describe, expect, it } from 'vitest';
import { fieldDiagnostics, movedIndex, ofStep, ofTrigger, otherDiagnostics, ownerOf, place } from './diagnostics';

const diagnostics = place([
  { line: 20, column: 16, path: 'steps[1].action.input.email', message: "unknown variable 'trigger.emial'" },
  { line: 21, column: 9, path: 'steps[1].action.connection', message: 'no connection named "x"' },
  { line: 5, column: 3, path: 'trigger.webhook.events[0]', message: 'unknown event' },
  { line: 9, column: 7, path: 'steps[0].map.fields.full_name', message: 'unknown filter' },
  { line: 1, column: 1, path: 'name', message: 'a flow needs a name' },
]);

describe('diagnostics', () => {
  it('belong to the card of their step or the trigger', () => {
    expect(diagnostics.map(ownerOf)).toEqual([{ step: 1 }, { step: 1 }, 'trigger', { step: 0 }, 'flow']);
    expect(ofStep(diagnostics, 1).map((d) => d.line)).toEqual([20, 21]);
    expect(ofTrigger(diagnostics).map((d) => d.path)).toEqual(['trigger.webhook.events[0]']);
  });

  it('name the inspector field they concern', () => {
    expect(fieldDiagnostics(diagnostics, ['steps', 1, 'action', 'input'])).toEqual([
      { key: 'email', message: "unknown variable 'trigger.emial'" },
    ]);
    expect(fieldDiagnostics(diagnostics, ['steps', 0, 'map', 'fields'])).toEqual([{ key: 'full_name', message: 'unknown filter' }]);
    expect(fieldDiagnostics(diagnostics, ['steps', 1])).toEqual([
      { key: 'action', message: "unknown variable 'trigger.emial'" },
      { key: 'action', message: 'no connection named "x"' },
    ]);
    expect(otherDiagnostics(diagnostics, ['steps', 1], [['steps', 1, 'action', 'input']]).map((d) => d.path)).toEqual([
      'steps[1].action.connection',
    ]);
  });

  it('follow a moved step', () => {
    // [a, b, c, d]: b (1) moves to 3 → [a, c, d, b]
    expect([0, 1, 2, 3].map((i) => movedIndex(i, 1, 3))).toEqual([0, 3, 1, 2]);
    expect([0, 1, 2, 3].map((i) => movedIndex(i, 3, 0))).toEqual([1, 2, 3, 0]);
  });
});
