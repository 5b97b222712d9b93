"""People as they appear in events: staff, never citizens' personal identity numbers."""

from functools import lru_cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    validate_email,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


@lru_cache(maxsize=4096)
def _checked(value: str) -> str:
    """pydantic's EmailStr check, remembered: the same few staff addresses come back with
    every account and case read (issue 13: 4 % of moderation's CPU in a comment storm).
    A refused address raises each time; only good ones are kept."""
    return validate_email(value)[1]


class Email(str):
    """An e-mail address: pydantic's EmailStr (its check, errors and JSON schema), with
    each address checked once per process."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_checked, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(schema) | {"type": "string", "format": "email"}


class PersonRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    email: Email
