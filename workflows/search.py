"""Search attributes published by placement workflows, for operations views.
Only ids, states and dates: never anything about the child."""
from temporalio.common import SearchAttributeKey

PLACEMENT_STATE = SearchAttributeKey.for_keyword("PlacementState")
SCHOOL_ID = SearchAttributeKey.for_keyword("SchoolId")
PLACEMENT_KIND = SearchAttributeKey.for_keyword("PlacementKind")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

SEARCH_ATTRIBUTES = (PLACEMENT_STATE, SCHOOL_ID, PLACEMENT_KIND, NEXT_DEADLINE)
