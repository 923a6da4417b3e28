#!/usr/bin/env python3
"""Validates JSON reports against docs/report-schema.json (JSON Schema draft 2020-12).

Usage: validate_report.py SCHEMA REPORT...
Exit 0 when every report is valid (prints "N valid"), 1 when one is not (prints each error with
its path), 2 when the schema or a file cannot be read.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("validate_report: python3's jsonschema is missing (Debian: python3-jsonschema)",
          file=sys.stderr)
    sys.exit(2)


def load(path):
    with open(path, encoding="utf-8") as f:
        if f.seek(0, 2) > 64 << 20:
            raise ValueError(path + ": larger than 64 MiB")
        f.seek(0)
        return json.load(f)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        schema = load(argv[1])
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print("validate_report: bad schema: %s" % e, file=sys.stderr)
        return 2
    validator = jsonschema.Draft202012Validator(schema)
    invalid = 0
    for path in argv[2:]:
        try:
            report = load(path)
        except (OSError, ValueError) as e:
            print("%s: unreadable: %s" % (path, e))
            invalid += 1
            continue
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
        for e in errors[:20]:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print("%s: %s: %s" % (path, where, e.message[:300]))
        if errors:
            invalid += 1
    if invalid:
        print("%d of %d invalid" % (invalid, len(argv) - 2))
        return 1
    print("%d valid" % (len(argv) - 2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
