"""Running plans against nodes: computing them from live state, and (issue 5) applying them."""
