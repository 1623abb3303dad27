"""Copy mode: signal events become sized EA commands for every subscribed terminal."""
