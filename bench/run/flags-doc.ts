// Prints the README's bench flag table, generated from the declarations --help uses:
//   node dist/bench/run/flags-doc.js
import { flagTableMarkdown } from './config.js';

process.stdout.write(`${flagTableMarkdown()}\n`);
