"""The JSON Schema of a config file (``reconciler schema``), generated from the models of
:mod:`.schema` and shaped the way editors and the YAML language server read it."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from reconciler.config.schema import ConfigFile


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schema, spoken the way editors read this language."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # null means "not given"; editors need not offer it.
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if out.get("default", ...) is None:
            del out["default"]  # "not given" is not a value to suggest
        return out

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # Every key must match: propertyNames says so, patternProperties would not.
        out = super().dict_schema(schema)
        patterns = out.pop("patternProperties", None)
        if patterns:
            ((pattern, value),) = patterns.items()
            out["propertyNames"] = {**out.get("propertyNames", {}), "pattern": pattern}
            out["additionalProperties"] = value
        return out


def document_schema() -> dict[str, Any]:
    """JSON Schema of one config file (every block optional: files are merged)."""
    schema = ConfigFile.model_json_schema(schema_generator=_Generator)
    defs = schema.pop("$defs", {})
    for model in defs.values():
        model.pop("title", None)
    properties = {}
    for name, block in schema["properties"].items():
        block.pop("default", None)
        ref = block.pop("$ref", None)
        if ref is not None:
            block = {**defs[ref.rsplit("/", 1)[1]], **block}
        # `users:` with nothing under it is an empty block. A type list rather than
        # anyOf keeps validators' messages pointed at the offending key.
        properties[name] = {**block, "type": [block["type"], "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": schema["title"],
        "description": "Desired state of Salesforce integration users and their access. "
                       "All *.yaml/*.yml files of the config directory are merged.",
        "type": "object",
        "properties": properties,
        "patternProperties": {"^x-": {"description": "Ignored: a place for YAML anchors."}},
        "additionalProperties": False,
        "$defs": defs,
    }
