// Package thirdparty checks what easy generates with third-party tools,
// so that the tests do not take the framework's word for its own output:
// the OpenAPI documents of the library's test apps, and their answers,
// go through pb33f/libopenapi-validator (package spectest); the traces
// of an App, through the OpenTelemetry SDK's in-memory exporter, and the
// cost of metrics and traces (package observe).
//
// It is a module of its own, as coder/websocket keeps its tests that need
// other libraries, so that a user of easy never has the validator in
// their go.mod or go.sum. Each folder checks the apps of the library
// package it is named after, built as that package's tests build them;
// readme_test.go checks the README's program.
package thirdparty
