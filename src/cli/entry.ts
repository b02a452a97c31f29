/**
 * Process entry point for the mmsim command. Help and the version are answered from help.ts alone; any
 * other command loads the CLI and the model behind it (so `mmsim --help` starts in a few files).
 */
import { quickAnswer } from './help.js';

const argv = process.argv.slice(2);
const answer = quickAnswer(argv);
if (answer !== undefined) process.stdout.write(answer);
else {
  const { main } = await import('./main.js');
  process.exitCode = main(argv);
}
