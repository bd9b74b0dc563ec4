// Copyright 2026 Tollgate. Licensed under the Apache License, Version 2.0, as FerretDB (the package it is built in).

package sqlite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// tollgateMaxInValues bounds the values of one pushed-down $in (SQLite allows 32,766 variables in a statement); a
// longer $in is simply not pushed down.
const tollgateMaxInValues = 1000

// tollgatePlainKey is a top-level field name that needs no quoting beyond %q in a SQLite path: no dot (a nested
// path), no "$" (an operator), no quote or backslash.
var tollgatePlainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// tollgatePrepareWhereClause returns a WHERE clause that keeps at least every row the filter can match, for the
// terms of it that are cheap to evaluate in SQLite: each top-level field compared with a string by equality, $eq or
// $in (and _id compared with an ObjectID, as upstream does).
//
// Why: upstream v1.24.0 pushes down only a filter that is exactly {_id: <scalar>}; every other find reads and
// decodes every row of the collection in Go — every tenant's rows for a filter that names one tenant. This is a
// prefilter, not the filter: the handler still applies the whole filter to each row it returns
// (common.FilterIterator in msg_find.go, and likewise for the other commands), so leaving a term out is always
// correct; a term put in must never drop a row MongoDB would match. Hence:
//   - values are compared as sjson text (`col->"field" = '"value"'`), exactly as upstream compares _id and in the
//     form upstream's CREATE INDEX uses (`col->"field"`), so SQLite can use an index on that field: equal strings
//     marshal to equal text, and a number, document or null never equals a quoted string;
//   - a field that holds an array matches when an element equals the value, so for any field but _id (never an
//     array) the term also keeps rows where that field is an array;
//   - anything else (regular expressions in $in, other operators, dotted paths, $or/$and, duplicate keys) is left
//     to the handler.
func tollgatePrepareWhereClause(filter *types.Document) (string, []any) {
	if filter == nil || filter.Len() == 0 {
		return "", nil
	}

	if _, dup := filter.FindDuplicateKey(); dup {
		return "", nil
	}

	var terms []string
	var args []any

	for _, key := range filter.Keys() {
		if !tollgatePlainKey.MatchString(key) {
			continue
		}

		value := must.NotFail(filter.Get(key))

		var values []any

		switch v := value.(type) {
		case string, types.ObjectID:
			values = []any{v}
		case *types.Document:
			values = tollgateOperatorValues(v)
		}

		if len(values) == 0 {
			continue
		}

		marshalled := make([]any, 0, len(values))
		for _, v := range values {
			if !tollgatePushable(key, v) {
				marshalled = nil
				break
			}

			marshalled = append(marshalled, string(must.NotFail(sjson.MarshalSingleValue(v))))
		}

		if len(marshalled) == 0 {
			continue
		}

		column := fmt.Sprintf("%s->%q", metadata.DefaultColumn, key)

		var term string
		if len(marshalled) == 1 {
			term = column + " = ?"
		} else {
			term = column + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(marshalled)), ", ") + ")"
		}

		if key != "_id" {
			term = fmt.Sprintf("(%s OR json_type(%s, '$.%s') = 'array')", term, metadata.DefaultColumn, key)
		}

		terms = append(terms, term)
		args = append(args, marshalled...)
	}

	if len(terms) == 0 {
		return "", nil
	}

	return " WHERE " + strings.Join(terms, " AND "), args
}

// tollgateOperatorValues returns the values of an operator document {$eq: v} or {$in: [v…]} (the first of them
// if both are present: each is a term of an AND, so either alone is a correct prefilter), or nil.
func tollgateOperatorValues(ops *types.Document) []any {
	if eq, err := ops.Get("$eq"); err == nil {
		return []any{eq}
	}

	in, err := ops.Get("$in")
	if err != nil {
		return nil
	}

	arr, ok := in.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > tollgateMaxInValues {
		return nil
	}

	values := make([]any, arr.Len())
	for i := range values {
		values[i] = must.NotFail(arr.Get(i))
	}

	return values
}

// tollgatePushable reports whether v may be compared as sjson text: strings for every field, ObjectIDs for _id
// only (as upstream: an ObjectID elsewhere has not been checked against how sjson stores it).
func tollgatePushable(key string, v any) bool {
	switch v.(type) {
	case string:
		return true
	case types.ObjectID:
		return key == "_id"
	default:
		return false
	}
}
