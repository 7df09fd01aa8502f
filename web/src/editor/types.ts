// Types the flow editor (web/src/editor, pages/Flow.svelte) and the mapping components
// (web/src/mapping) share. See the editor contract: the YAML text is the truth, these describe
// places in it and the sample data shown beside it.

/** A path into the flow document, as the server's diagnostic paths: ['steps', 1, 'action', 'input', 'email']. */
export type DocPath = (string | number)[];

/** One source of sample data shown in the data panel. */
export interface DataSource {
  /** The expression root: 'trigger' or `steps.${id}.output`. */
  root: string;
  /** What the panel shows as its heading: 'Trigger: new GHL contact', 'customer (map)'. */
  label: string;
  /** The sample value (an object usually), or undefined when none is known yet. */
  value: unknown;
  /** Where the sample came from, for people: 'example', 'captured webhook', 'run #12', 'test'. */
  origin?: string;
}

/** The context expressions are previewed in (POST /api/v1/preview's sample and steps). */
export interface PreviewContext {
  /** The trigger record. */
  sample: unknown;
  /** Earlier steps' outputs by id. */
  steps: Record<string, { output: unknown }>;
}

/** The drag payload's MIME type: its data is the reference, e.g. `trigger.email`. */
export const FIELD_MIME = 'application/x-tether-field';
