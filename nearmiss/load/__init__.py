"""Loading: sources (bundled benchmarks, files, HF datasets on disk) into item records, field
mappings, ingest into the store, uploads from the app, and what the store holds per dataset."""
