"""Selling access: the plan catalog, entitlements, and (as they land) checkout, subscriptions,
promo codes, trials, affiliates, refunds, revenue and the VIP channel."""
