"""nearmiss core: schema, store, loaders, export and trainer."""
