"""OpenAPI post-processing: document the error answers every API view can give, so that the schema is true
for each operation without repeating them in every ``extend_schema``.

- 403: every view needs a logged-in user (``IsAuthenticated``; session authentication answers 403);
- 404: any operation with a path parameter (no such object, or no role in its project);
- 400: any operation with query parameters or a body (a field the serializer or parser refuses).

All of them have the ``{"detail", "errors"}`` shape of ``eolabel.api.exception_handler``. Codes an operation
documents itself are left alone."""

from typing import Any

ERROR_REF = "#/components/schemas/ErrorOutput"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "one line naming the problem"},
        "errors": {"type": "object", "additionalProperties": {}, "description": "field -> messages"},
    },
    "required": ["detail"],
}
METHODS = ("get", "put", "post", "patch", "delete")


def document_error_responses(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: add 400/403/404 error responses where they apply."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("ErrorOutput", ERROR_SCHEMA)
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is not None:
                _add_errors(operation)
    return result


def _add_errors(operation: dict[str, Any]) -> None:
    where = {p.get("in") for p in operation.get("parameters", [])}
    codes = ["403"]
    if "path" in where:
        codes.append("404")
    if "query" in where or "requestBody" in operation:
        codes.append("400")
    responses = operation.setdefault("responses", {})
    for code in codes:
        responses.setdefault(
            code,
            {
                "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                "description": "",
            },
        )
