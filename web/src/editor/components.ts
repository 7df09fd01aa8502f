// The mapping components the editor uses (contract: editor-contract.md). Stand-ins with the same
// props until H4's `web/src/mapping/` components are merged; then only these lines change.
export { default as DataPanel } from './standin/DataPanel.svelte';
export { default as SchemaForm } from './standin/SchemaForm.svelte';
export { default as MapEditor } from './standin/MapEditor.svelte';
export { default as FilterBuilder } from './standin/FilterBuilder.svelte';
