// Package docs holds the documents the binary embeds: the JSON report's
// schema, with which reports read back (report show, report diff,
// --baseline) are validated.
package docs

import _ "embed"

// ReportSchema is report.schema.json, the JSON Schema of the JSON report.
//
//go:embed report.schema.json
var ReportSchema []byte
