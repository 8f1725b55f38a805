"""Planning: diffing specs against state, costing, rendering."""
