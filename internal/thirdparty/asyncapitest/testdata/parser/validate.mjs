// validate.mjs parses the AsyncAPI document read from standard input with
// the AsyncAPI initiative's parser and prints its diagnostics as JSON, one
// array: [{"severity": 0, "code": "...", "message": "...", "path": [...]}].
// Severity is the parser's: 0 error, 1 warning, 2 information, 3 hint.
import { Parser } from '@asyncapi/parser';

let input = '';
for await (const chunk of process.stdin) input += chunk;

const { diagnostics } = await new Parser().parse(input);
process.stdout.write(JSON.stringify(diagnostics.map(d => ({
  severity: d.severity, code: String(d.code), message: d.message, path: d.path,
}))));
