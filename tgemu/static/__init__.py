"""Static files of the sandbox page (a package so the wheel ships them as package data)."""
