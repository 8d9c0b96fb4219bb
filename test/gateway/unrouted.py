"""test/gateway/unrouted.py -- check the replies no operation of the contract owns
(and the error replies of requests sent straight to the gateway).

A validating proxy pairs a reply with the operation of its path and method;
a path or method docs/openapi.yaml does not have (the gateway's 404 "no such
route" and 405 + Allow) matches none, so Prism only warns "Selected route
not found" and checks nothing.  The document lists those replies in
`x-unrouted-responses`; this module checks such a reply against the
response named there: a listed status, the required headers present and
matching their pattern, and the JSON body against the response's schema.
Tests of the connection itself bypass the proxy; their error replies are
checked the same way against the shared response of their status
(components/responses/BadRequest for a 400, ...).

The schema check covers the JSON Schema keywords the error schemas use
(type, required, properties, additionalProperties: false, enum, minLength,
pattern, $ref) and refuses a schema with any other keyword, so a later change
of the error schema cannot be checked silently halfway.
"""
import re

import yaml

KNOWN = {"type", "required", "properties", "additionalProperties", "enum", "minLength", "pattern", "$ref",
         "description", "example", "minimum", "maximum"}
HOP_BY_HOP = {"connection", "keep-alive"}
TYPES = {"object": dict, "string": str, "array": list, "boolean": bool, "integer": int}


class Unrouted:
    def __init__(self, spec_path):
        self.doc = yaml.safe_load(open(spec_path))
        self.responses = self.doc.get("x-unrouted-responses", {})

    def resolve(self, node):
        """Follow $ref ('#/a/b/c') until a plain node."""
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema_errors(self, schema, value, where="body"):
        schema = self.resolve(schema)
        unknown = set(schema) - KNOWN
        if unknown:
            return ["%s: the checker does not know %s" % (where, sorted(unknown))]
        kind = schema.get("type")
        if kind == "integer" and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)  # a header's value
        if kind and not isinstance(value, TYPES[kind]) or kind == "integer" and isinstance(value, bool):
            return ["%s: not %s: %r" % (where, kind, value)]
        errors = []
        if "enum" in schema and value not in schema["enum"]:
            errors.append("%s: %r not one of the enum" % (where, value))
        if isinstance(value, int) and not isinstance(value, bool):
            if value < schema.get("minimum", value) or value > schema.get("maximum", value):
                errors.append("%s: %d out of range" % (where, value))
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                errors.append("%s: shorter than %d" % (where, schema["minLength"]))
            if "pattern" in schema and not re.search(schema["pattern"], value):
                errors.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            errors += ["%s: %s is required" % (where, k) for k in schema.get("required", []) if k not in value]
            if schema.get("additionalProperties") is False:
                errors += ["%s: %s is not allowed" % (where, k) for k in value if k not in props]
            for k, sub in props.items():
                if k in value:
                    errors += self.schema_errors(sub, value[k], "%s.%s" % (where, k))
        return errors

    def shared_error(self, status):
        """The one components/responses entry the operations use for an
        error status (BadRequest for 400, ...; 405 from x-unrouted-responses), or None."""
        refs = {r["$ref"] for item in self.doc["paths"].values() for op in item.values()
                if isinstance(op, dict) for st, r in op.get("responses", {}).items()
                if st == str(status) and "$ref" in r}
        return {"$ref": refs.pop()} if len(refs) == 1 else self.responses.get(str(status))

    def errors(self, status, headers, body_json, response=None):
        """What is wrong with a reply (status, a case-insensitive header
        mapping, the parsed body or None) that no operation owns -- or,
        given response (a response object or $ref), with a reply that did
        not pass through the proxy."""
        response = response or self.responses.get(str(status))
        if response is None:
            return ["status %s is not in x-unrouted-responses" % status]
        response = self.resolve(response)
        errors = []
        for name, header in response.get("headers", {}).items():
            if name.lower() in HOP_BY_HOP:  # the proxy's own, not the gateway's
                continue
            header = self.resolve(header)
            if name not in headers:
                if header.get("required"):
                    errors.append("header %s is required" % name)
                continue
            errors += self.schema_errors(header["schema"], headers[name], "header " + name)
        content = response.get("content", {}).get("application/json")
        if content:
            errors += self.schema_errors(content["schema"], body_json)
        return errors
