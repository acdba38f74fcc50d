/**
 * Developer tool (not a test): runs the SVM ROMs that the tests dumped
 * (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/svm/<file>) on Bochs with an
 * AMD CPU model with SVM and nested paging (phenom_8650_toliman) and lists
 * where its reports differ from ours (test/cpu/tools/bochsRomCheck.ts).
 *
 *   node --import tsx test/cpu/svm/bochsCheck.ts <dir> [bochs cpu model]
 *
 * Values from CPUID or the processor's own features differ by design (another
 * processor); ROMs that rely on harness devices (the test interrupt line)
 * differ too.
 */
import { compareRomsWithBochs } from '../tools/bochsRomCheck.ts';

compareRomsWithBochs({ prefix: 'svm', defaultModel: 'phenom_8650_toliman', includeDir: new URL('./', import.meta.url).pathname }, process.argv.slice(2));
