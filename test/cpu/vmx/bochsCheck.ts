/**
 * Developer tool (not a test): runs the VMX ROMs that the tests dumped
 * (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/vmx/<file>) on Bochs with a
 * VMX/EPT-capable CPU model and lists where its reports differ from ours
 * (test/cpu/tools/bochsRomCheck.ts).
 *
 *   node --import tsx test/cpu/vmx/bochsCheck.ts <dir> [bochs cpu model]
 *
 * Values that come from the capability MSRs or the VMCS revision differ by
 * design (another processor); ROMs whose guests report through port 0xF0 or
 * rely on harness devices differ too.
 */
import { compareRomsWithBochs } from '../tools/bochsRomCheck.ts';

compareRomsWithBochs({ prefix: 'vmx', defaultModel: 'corei7_sandy_bridge_2600k', includeDir: new URL('./', import.meta.url).pathname }, process.argv.slice(2));
