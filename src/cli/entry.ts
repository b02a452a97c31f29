/** Process entry point for the mmsim command. */
import { main } from './main.js';

process.exitCode = main(process.argv.slice(2));
