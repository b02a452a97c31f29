/** Writes schema/scenario.schema.json from the definitions the parser reads (`npm run schema`). */
import { writeFileSync } from 'node:fs';
import { scenarioSchemaText } from '../src/scenario/schema.js';

writeFileSync(new URL('../schema/scenario.schema.json', import.meta.url), scenarioSchemaText());
