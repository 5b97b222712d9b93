"""The four Kanalvakt services; each has domain, handlers, store, api and app modules."""
