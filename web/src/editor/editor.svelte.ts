// The flow editor's state: the draft's text (the truth), its server revision, autosave with
// `If-Match` (a conflict is shown, never overwritten silently), the server's diagnostics, the
// catalog and connections, the selection, and the sample data of the trigger and each step.
import type { components } from '../lib/api';
import { api, ApiFailure, call, shown } from '../lib/client';
import type { Diagnostic, Shown } from '../lib/problem';
import {
  type Catalog,
  type ConnectionRef,
  newStep,
  newTrigger,
  operation,
  type PaletteItem,
  triggerExample,
  triggerTitle,
} from './catalog';
import { place, type Placed } from './diagnostics';
import { FlowDoc, type StepView } from './flowdoc';
import type { DataSource, PreviewContext } from './types';

type FlowDetail = components['schemas']['FlowDetail'];
type StepTest = components['schemas']['StepTest'];

/** How long after the last edit the draft is saved. */
export const SAVE_DELAY_MS = 600;

/** Where the draft stands against the server. */
export type SaveState = 'saved' | 'unsaved' | 'saving' | 'conflict' | 'failed';

/** A sample value and where it came from. */
export interface Sampled {
  value: unknown;
  origin: string;
  /** The stored sample's id, when it is one. */
  sampleId?: number;
}

/** What is selected: the trigger card, a step card, or nothing. */
export type Selection = { kind: 'trigger' } | { kind: 'step'; id: string } | null;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FlowEditor {
  readonly id: string;
  detail = $state<FlowDetail | null>(null);
  /** The YAML as edited: the truth. */
  text = $state('');
  /** The text the server has, at `revision`. */
  savedText = $state('');
  revision = $state(0);
  saveState = $state<SaveState>('saved');
  saveError = $state<Shown | null>(null);
  /** The revision someone else saved, when a save was refused as stale. */
  conflictRevision = $state<number | null>(null);
  diagnostics = $state<Placed[]>([]);
  catalog = $state<Catalog>({ apps: [], operations: [], events: [] });
  connections = $state<ConnectionRef[]>([]);
  loadError = $state<Shown | null>(null);
  selection = $state<Selection>(null);
  /** The "+" slot chosen for the next palette click (a step index), or null for the end. */
  slot = $state<number | null>(null);
  view = $state<'visual' | 'yaml'>('visual');
  /** A sample chosen in the data panel; undefined: the catalog's example. */
  chosenSample = $state<Sampled | undefined>(undefined);
  /** Stored samples of the flow, newest first. */
  samples = $state<components['schemas']['SampleView'][]>([]);
  /** Outputs learnt by testing steps, by step id. */
  tested = $state<Record<string, Sampled>>({});
  /** Outputs of map steps computed by preview, by step id. */
  previewed = $state<Record<string, Sampled>>({});
  /** The last test of each step, by step id. */
  tests = $state<Record<string, StepTest | { failure: Shown }>>({});
  /** The published version's YAML, to tell whether the draft differs. */
  publishedText = $state<string | null>(null);
  /** Where the webhooks of this server arrive. */
  webhookUrl = $state<string | null>(null);

  doc = $derived(new FlowDoc(this.text));
  steps = $derived<StepView[]>(this.doc.steps());
  trigger = $derived(this.doc.trigger());
  editable = $derived(this.doc.editable());

  private timer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> | null = null;
  private previewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string) {
    this.id = id;
  }

  /** Loads the flow, then the catalog, connections, samples and settings. */
  async load(): Promise<void> {
    try {
      const detail = await call(`Loading flow ${this.id}`, api.GET('/api/v1/flows/{id}', { params: { path: { id: this.id } } }));
      this.accept(detail, true);
    } catch (error) {
      this.loadError = shown(error);
      return;
    }
    await Promise.all([this.loadCatalog(), this.loadConnections(), this.loadSamples(), this.loadSettings(), this.loadPublished()]);
    this.schedulePreviews();
  }

  /** Loads the published version's YAML (none before the first publish). */
  async loadPublished(): Promise<void> {
    const seq = this.detail?.published?.seq;
    if (seq === undefined) {
      this.publishedText = null;
      return;
    }
    try {
      const version = await call(
        `Loading v${seq}`,
        api.GET('/api/v1/flows/{id}/versions/{version}', { params: { path: { id: this.id, version: String(seq) } } }),
      );
      this.publishedText = version.yaml;
    } catch {
      this.publishedText = null;
    }
  }

  private async loadCatalog() {
    try {
      this.catalog = await call('Loading the catalog', api.GET('/api/v1/catalog'));
    } catch (error) {
      this.loadError = shown(error);
    }
  }

  async loadConnections(): Promise<void> {
    try {
      const page = await call('Loading the connections', api.GET('/api/v1/connections', { params: { query: { limit: 200 } } }));
      this.connections = page.items.map((c) => ({ name: c.name, app: c.app, health: c.health }));
    } catch (error) {
      this.loadError = shown(error);
    }
  }

  async loadSamples(): Promise<void> {
    try {
      const page = await call(
        'Loading the samples',
        api.GET('/api/v1/flows/{id}/samples', { params: { path: { id: this.id }, query: { limit: 20 } } }),
      );
      this.samples = page.items.filter((s) => s.stepId === 'trigger');
      const newest = this.samples[0];
      if (newest && this.chosenSample === undefined) {
        this.chosenSample = { value: newest.record, origin: `${newest.source} sample #${newest.id}`, sampleId: newest.id };
      }
    } catch {
      // Samples are a help, not a need: the catalog's example stands in.
    }
  }

  private async loadSettings() {
    try {
      const settings = await call('Loading the settings', api.GET('/api/v1/settings'));
      this.webhookUrl = settings.ghlWebhookUrl;
    } catch {
      this.webhookUrl = null;
    }
  }

  /** Takes the server's flow: its text when `replaceText` (load, reload, discard), always its
   * revision and diagnostics. */
  private accept(detail: FlowDetail, replaceText: boolean) {
    this.detail = detail;
    this.revision = detail.draft.revision;
    this.diagnostics = place(detail.draft.diagnostics as Diagnostic[]);
    if (replaceText) {
      this.text = detail.draft.yaml;
      this.savedText = detail.draft.yaml;
      this.saveState = 'saved';
      this.conflictRevision = null;
      this.saveError = null;
    }
  }

  /** Applies a visual edit to the text. Refused (with the reason shown) when the YAML has errors. */
  edit(change: (doc: FlowDoc) => void): boolean {
    const doc = new FlowDoc(this.text);
    try {
      change(doc);
    } catch (error) {
      this.saveError = shown(error);
      return false;
    }
    this.setText(doc.toString());
    return true;
  }

  /** Replaces the text (the YAML view's typing, or an edit) and schedules the save. */
  setText(text: string): void {
    if (text === this.text) return;
    this.text = text;
    if (this.saveState !== 'conflict') this.saveState = text === this.savedText ? 'saved' : 'unsaved';
    this.scheduleSave();
  }

  private scheduleSave() {
    clearTimeout(this.timer);
    if (this.saveState === 'conflict') return;
    this.timer = setTimeout(() => void this.save(), SAVE_DELAY_MS);
  }

  /** Saves now (waiting for a save in flight first); resolves when the server has the text. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    while (this.saving) await this.saving;
    if (this.text !== this.savedText && this.saveState !== 'conflict') await this.save();
  }

  private async save(): Promise<void> {
    if (this.saving) {
      await this.saving;
      if (this.text !== this.savedText) this.scheduleSave();
      return;
    }
    if (this.text === this.savedText || this.saveState === 'conflict') return;
    const text = this.text;
    this.saveState = 'saving';
    this.saving = (async () => {
      try {
        const detail = await call(
          'Saving the draft',
          api.PUT('/api/v1/flows/{id}/draft', {
            params: { path: { id: this.id }, header: { 'If-Match': `"${this.revision}"` } },
            body: { yaml: text },
          }),
        );
        this.savedText = text;
        this.accept(detail, false);
        this.saveError = null;
        this.saveState = this.text === text ? 'saved' : 'unsaved';
      } catch (error) {
        if (error instanceof ApiFailure && error.status === 412) {
          this.saveState = 'conflict';
          this.saveError = error.shown;
          await this.learnConflict();
        } else {
          this.saveState = 'failed';
          this.saveError = shown(error);
        }
      }
    })();
    await this.saving;
    this.saving = null;
    if ((this.saveState as SaveState) === 'unsaved') this.scheduleSave();
  }

  private async learnConflict() {
    try {
      const detail = await call(`Loading flow ${this.id}`, api.GET('/api/v1/flows/{id}', { params: { path: { id: this.id } } }));
      this.conflictRevision = detail.draft.revision;
    } catch {
      this.conflictRevision = null;
    }
  }

  /** After a conflict: take the saved draft, dropping the edits here. */
  async reload(): Promise<void> {
    clearTimeout(this.timer);
    const detail = await call(`Loading flow ${this.id}`, api.GET('/api/v1/flows/{id}', { params: { path: { id: this.id } } }));
    this.accept(detail, true);
  }

  /** After a conflict, on an explicit choice: save the text here over the other revision. */
  async overwrite(): Promise<void> {
    const detail = await call(`Loading flow ${this.id}`, api.GET('/api/v1/flows/{id}', { params: { path: { id: this.id } } }));
    this.revision = detail.draft.revision;
    this.savedText = detail.draft.yaml;
    this.saveState = 'unsaved';
    this.conflictRevision = null;
    this.saveError = null;
    await this.save();
  }

  /** Retries a failed save. */
  async retry(): Promise<void> {
    this.saveState = 'unsaved';
    await this.save();
  }

  /** Discards the draft: the published YAML comes back. */
  async discard(): Promise<void> {
    clearTimeout(this.timer);
    while (this.saving) await this.saving;
    const detail = await call(
      'Discarding the draft',
      api.DELETE('/api/v1/flows/{id}/draft', { params: { path: { id: this.id }, header: { 'If-Match': `"${this.revision}"` } } }),
    );
    this.accept(detail, true);
    this.selection = null;
  }

  /** Publishes the saved draft with `message`. */
  async publish(message: string): Promise<components['schemas']['PublishResult']> {
    await this.flush();
    if (this.saveState === 'conflict' || this.saveState === 'failed') {
      throw new Error('The draft is not saved; resolve the save problem first.');
    }
    const result = await call(
      'Publishing',
      api.POST('/api/v1/flows/{id}/publish', { params: { path: { id: this.id } }, body: { message } }),
    );
    const detail = await call(`Loading flow ${this.id}`, api.GET('/api/v1/flows/{id}', { params: { path: { id: this.id } } }));
    this.detail = detail;
    await this.loadPublished();
    return result;
  }

  /** The step with this id and its index. */
  stepById(id: string): { step: StepView; index: number } | undefined {
    const index = this.steps.findIndex((s) => s.id === id);
    return index < 0 ? undefined : { step: this.steps[index], index };
  }

  /** The trigger's sample: the chosen one, else the catalog's example. */
  triggerSample = $derived.by((): Sampled | undefined => {
    if (this.chosenSample) return this.chosenSample;
    const example = triggerExample(this.catalog, this.trigger);
    return example === undefined ? undefined : { value: example, origin: 'example' };
  });

  /** What a step's output looks like: its test, its preview (maps), else its operation's example. */
  outputOf(step: StepView): Sampled | undefined {
    const tested = this.tested[step.id];
    if (tested) return tested;
    if (step.kind === 'map') return this.previewed[step.id];
    if (step.kind === 'action' || step.kind === 'lookup') {
      const example = operation(this.catalog, step.body.operation)?.example;
      if (example !== undefined) return { value: example, origin: 'example' };
    }
    return undefined;
  }

  /** The data a step can map from: the trigger and the steps before it (all, for none). */
  sourcesFor(selection: Selection): DataSource[] {
    const sources: DataSource[] = [];
    const sample = this.triggerSample;
    sources.push({ root: 'trigger', label: this.trigger ? `Trigger: ${triggerTitle(this.catalog, this.trigger)}` : 'Trigger (none chosen yet)', value: sample?.value, origin: sample?.origin });
    if (selection?.kind === 'trigger') return sources;
    const until = selection?.kind === 'step' ? (this.stepById(selection.id)?.index ?? this.steps.length) : this.steps.length;
    for (const step of this.steps.slice(0, until)) {
      if (step.kind === 'filter') continue;
      const out = this.outputOf(step);
      sources.push({
        root: `steps.${step.id}.output`,
        label: `${step.description ?? step.id} (${step.id})`,
        value: out?.value,
        origin: out?.origin,
      });
    }
    return sources;
  }

  /** The preview context of a step: the trigger sample and the outputs before it. */
  contextFor(selection: Selection): PreviewContext {
    const steps: Record<string, { output: unknown }> = {};
    for (const source of this.sourcesFor(selection).slice(1)) {
      const id = source.root.replace(/^steps\./, '').replace(/\.output$/, '');
      if (source.value !== undefined) steps[id] = { output: source.value };
    }
    return { sample: this.triggerSample?.value ?? {}, steps };
  }

  /** Outputs before `index` as the API takes them (`{id: output}`). */
  outputsBefore(index: number): Record<string, unknown> {
    const outputs: Record<string, unknown> = {};
    for (const step of this.steps.slice(0, index)) {
      const out = this.outputOf(step);
      if (out && step.kind !== 'filter') outputs[step.id] = out.value;
    }
    return outputs;
  }

  /** Recomputes the map steps' outputs by preview, soon (debounced). */
  schedulePreviews(): void {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => void this.previewMaps(), 300);
  }

  private async previewMaps() {
    const sample = this.triggerSample?.value ?? {};
    const outputs: Record<string, unknown> = {};
    const next: Record<string, Sampled> = {};
    for (const step of this.steps) {
      if (step.kind === 'map' && !this.tested[step.id]) {
        const fields = isRecord(step.body.fields) ? step.body.fields : {};
        let value: unknown;
        try {
          const answer = await api.POST('/api/v1/preview', { body: { value: fields, sample, steps: outputs } });
          value = answer.data?.value;
        } catch {
          value = undefined;
        }
        // A field that does not evaluate on the sample still shows, empty, so it can be mapped.
        if (!isRecord(value)) value = Object.fromEntries(Object.keys(fields).map((key) => [key, null]));
        next[step.id] = { value, origin: 'preview' };
        outputs[step.id] = value;
      } else if (step.kind !== 'filter') {
        const out = this.outputOf(step);
        if (out) outputs[step.id] = out.value;
      }
    }
    this.previewed = next;
  }

  /** Tests step `id` against the sample; an action writes only with `confirmWrite`. */
  async testStep(id: string, confirmWrite: boolean): Promise<void> {
    const found = this.stepById(id);
    if (!found) return;
    const sample = this.triggerSample;
    try {
      const test = await call(
        `Testing step ${id}`,
        api.POST('/api/v1/flows/test-step', {
          body: {
            yaml: this.text,
            stepId: id,
            sample: sample?.value ?? {},
            steps: this.outputsBefore(found.index),
            execute: found.step.kind === 'lookup' || confirmWrite,
            confirmWrite,
          },
        }),
      );
      this.tests = { ...this.tests, [id]: test };
      if (test.output !== undefined && test.output !== null && test.kind !== 'filter') {
        this.tested = { ...this.tested, [id]: { value: test.output, origin: 'test' } };
      }
    } catch (error) {
      this.tests = { ...this.tests, [id]: { failure: shown(error) } };
    }
  }

  /** Runs the saved draft once against the sample. */
  async runOnce(confirmWrite: boolean): Promise<components['schemas']['DraftRun']> {
    await this.flush();
    const sample = this.triggerSample;
    const run = await call(
      'Running the draft once',
      api.POST('/api/v1/flows/{id}/test-run', {
        params: { path: { id: this.id } },
        body: {
          revision: this.revision,
          confirmWrite,
          ...(sample?.sampleId !== undefined ? { sampleId: sample.sampleId } : { sample: sample?.value ?? {} }),
        },
      }),
    );
    const tested = { ...this.tested };
    for (const step of run.steps) {
      if (step.output !== undefined && step.output !== null && step.kind !== 'filter') tested[step.stepId] = { value: step.output, origin: `run once (revision ${run.revision})` };
    }
    this.tested = tested;
    return run;
  }

  /** Adds a palette item: a trigger item sets the trigger; a step goes to `index` (default: the
   * chosen slot, else the end) and is selected. */
  addItem(item: PaletteItem, index?: number): boolean {
    const trigger = newTrigger(item, this.connections);
    if (trigger) {
      const ok = this.edit((doc) => doc.setIn(['trigger'], trigger));
      if (ok) {
        this.chosenSample = undefined;
        this.tested = {};
        this.selection = { kind: 'trigger' };
      }
      return ok;
    }
    const step = newStep(item, this.catalog, this.connections, this.steps.map((s) => s.id));
    if (!step) return false;
    const at = index ?? this.slot ?? this.steps.length;
    const ok = this.edit((doc) => doc.insertStep(at, step));
    if (ok) {
      this.selection = { kind: 'step', id: String(step.id) };
      this.slot = null;
      this.schedulePreviews();
    }
    return ok;
  }

  /** Sets the value at `path`; `undefined` deletes it. */
  set(path: (string | number)[], value: unknown): void {
    this.edit((doc) => (value === undefined ? doc.deleteIn(path) : doc.setIn(path, value)));
    if (path[0] === 'steps') this.schedulePreviews();
  }

  /** Makes the map at `path` equal `next`, key by key, so comments on untouched keys stay. */
  setRecord(path: (string | number)[], next: Record<string, unknown>): void {
    this.edit((doc) => {
      const old = doc.getIn(path);
      const before = isRecord(old) ? old : {};
      if (!isRecord(old)) doc.setIn(path, {});
      for (const key of Object.keys(before)) if (!(key in next)) doc.deleteIn([...path, key]);
      for (const [key, value] of Object.entries(next)) {
        if (JSON.stringify(before[key]) !== JSON.stringify(value)) doc.setIn([...path, key], value);
      }
    });
    this.schedulePreviews();
  }

  /** Moves step `from` to position `to` (as after the move). */
  moveStep(from: number, to: number): void {
    if (to < 0 || to >= this.steps.length || from === to) return;
    this.edit((doc) => doc.moveStep(from, to));
    this.schedulePreviews();
  }

  /** Removes step `index`. */
  removeStep(index: number): void {
    const id = this.steps[index]?.id;
    this.edit((doc) => doc.removeStep(index));
    if (this.selection?.kind === 'step' && this.selection.id === id) this.selection = null;
    this.schedulePreviews();
  }

  /** Uses `value` as the trigger's sample. */
  useSample(sample: Sampled | undefined): void {
    this.chosenSample = sample;
    this.tested = {};
    this.schedulePreviews();
  }
}
