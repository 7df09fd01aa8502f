// The mapping components the editor uses (contract: editor-contract.md), from web/src/mapping/.
export { default as DataPanel } from '../mapping/DataPanel.svelte';
export { default as SchemaForm } from '../mapping/SchemaForm.svelte';
export { default as MapEditor } from '../mapping/MapEditor.svelte';
export { default as FilterBuilder } from '../mapping/FilterBuilder.svelte';
