"""Price alerts: above / below / crossing a level, per user and symbol, one-shot or repeating
with a cool-down, within the plan's quota (`service`); checked against the market (`rules`);
watched in a sorted per-symbol index (`index`) by the evaluator on the process that owns the
feeds (`evaluator`), which records each firing with its outbox notification (`firing`)."""
