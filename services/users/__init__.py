"""Users: profiles and languages, registration, roles and bans, entitlements (what a user may
receive and do), and the users' cache.
"""
