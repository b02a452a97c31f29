/** The page's entry point: read the link, then draw. */
import { render } from 'preact';
import { App } from './ui/app.js';
import { start } from './ui/state.js';

start();
render(<App />, document.getElementById('app')!);
