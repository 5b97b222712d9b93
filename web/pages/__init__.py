"""One module per area of the interface; each is an APIRouter of page functions."""
