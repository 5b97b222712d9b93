"""People as they appear in events: staff, never citizens' personal identity numbers."""

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class PersonRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    email: EmailStr
