"""The API's routers, one per resource (health, recommend, users, items, chat)."""
