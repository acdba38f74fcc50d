/**
 * The value of `popek run --nic internal=NAME[,mac=52:54:00:xx:xx:xx]` or
 * `--nic none[,mac=...]`: one virtio-net adapter (eth0, eth1, ... in order),
 * on the internal network NAME or not attached. Every machine of this user
 * on this host whose adapter names NAME, in this process or another `popek
 * run` or `popek serve`, is on the same switch (core/host/hostNetwork.ts).
 */
import { parseMac } from '../devices/virtio/virtioNet.ts';
import { networkNameProblem } from '../host/hostNetwork.ts';

export class NicArgError extends Error {
  override readonly name = 'NicArgError';
}

export function parseNicArg(value: string): { network?: string; mac?: string } {
  const [attachment, ...options] = value.split(',');
  const nic: { network?: string; mac?: string } = {};
  if (attachment.startsWith('internal=') && attachment.length > 'internal='.length) nic.network = attachment.slice('internal='.length);
  else if (attachment !== 'none') throw new NicArgError(`bad --nic value '${value}': expected internal=NAME or none, then optionally ,mac=52:54:00:xx:xx:xx`);
  const problem = nic.network === undefined ? null : networkNameProblem(nic.network);
  if (problem) throw new NicArgError(problem);
  for (const option of options) {
    if (!option.startsWith('mac=')) throw new NicArgError(`bad --nic option '${option}' in '${value}': expected mac=52:54:00:xx:xx:xx`);
    const mac = option.slice(4);
    try {
      parseMac(mac);
    } catch (e) {
      throw new NicArgError((e as Error).message);
    }
    nic.mac = mac.toLowerCase();
  }
  return nic;
}
