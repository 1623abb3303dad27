"""Analytics: the figures behind the public page, the owner's drift report and each
subscriber's own results, computed from closed signals and real executions."""
