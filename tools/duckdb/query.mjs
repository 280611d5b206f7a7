// Runs one SQL statement in an in-memory DuckDB and prints the rows as JSON.
// Used by internal/server's DuckDB test to run README.md's query verbatim.
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const result = await conn.runAndReadAll(process.argv[2]);
console.log(JSON.stringify(result.getRowObjectsJson()));
