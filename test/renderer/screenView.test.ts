// @vitest-environment happy-dom
/**
 * The Screen tab: it appears for a VM only once its machine sends a display
 * picture (a VM without a display adapter never gets one), draws the text
 * grid in the picture's colours with the cursor where the guest put it, and
 * sends keys typed on it to the host in order, releasing held keys on blur.
 */
import { createPinia, setActivePinia } from 'pinia';
import { useConsoleStore } from '../../renderer/src/stores/consoleStore.ts';
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VgaAdapter } from '../../core/devices/vga/vga.ts';
import type { TextScreen } from '../../core/devices/vga/textScreen.ts';
import { makeTestBoard } from '../devices/testBoard.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountManagerWindow, unmountAndClear } from './mountComponents.ts';

const BETA_ID = '0f7e1d2c-3b4a-4596-8877-665544332211';
let host: FakeHost;
let wrapper: VueWrapper | null = null;

/** A picture made by the real adapter: "C:\>" in light grey, "ERROR" white on red at row 2, cursor at row 0 column 4. */
function picture(): TextScreen {
  const b = makeTestBoard(1024 * 1024);
  const vga = new VgaAdapter(b.bus, b.clock);
  const put = (at: number, s: string, attribute: number) => {
    for (let i = 0; i < s.length; i++) b.bus.write16(0xb8000 + (at + i) * 2, (attribute << 8) | s.charCodeAt(i));
  };
  put(0, 'C:\\>', 0x07);
  put(2 * 80 + 10, 'ERROR', 0x4f);
  b.outw(0x3d4, (4 << 8) | 0x0f);
  const s = vga.screen();
  if (s.mode !== 'text') throw new Error('text expected');
  return s;
}

async function mountManager(): Promise<VueWrapper> {
  const pinia = createPinia();
  setActivePinia(pinia);
  wrapper = await mountManagerWindow(host, pinia);
  return wrapper;
}

const tabLabels = (w: VueWrapper) => w.findAll('[role="tab"]').map((t) => t.text());

beforeEach(() => {
  host = new FakeHost();
  host.vms = [makeVm(makeConfig({ name: 'Alpha' })), makeVm(makeConfig({ id: BETA_ID, name: 'Beta' }), 'running')];
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('Screen view', () => {
  it('has no Screen tab until the machine sends a picture, then one for that VM only', async () => {
    const w = await mountManager();
    expect(tabLabels(w)).toEqual(['Details']);
    expect(host.api.subscribeScreen).toHaveBeenCalledTimes(1); // the running VM only
    host.emitScreen(BETA_ID, picture());
    await settle();
    expect(tabLabels(w)).toEqual(['Details', 'Beta · Screen']);
  });

  it('brings the Screen tab to the front only once the guest puts something on it, when the user is on that VM', async () => {
    const w = await mountManager();
    const consoles = useConsoleStore();
    consoles.open(BETA_ID, 0); // as Start does
    await settle();
    const blank = { ...picture(), lines: new Array(25).fill(' '.repeat(80)) };
    host.emitScreen(BETA_ID, blank);
    await settle();
    expect(tabLabels(w)).toEqual(['Details', 'Beta · COM1', 'Beta · Screen']);
    expect(consoles.activeKey).toBe(`${BETA_ID}:0`); // a serial-only guest keeps its console in front
    host.emitScreen(BETA_ID, picture());
    await settle();
    expect(consoles.activeKey).toBe(`${BETA_ID}:screen`);
  });

  it('draws the grid in the palette colours with the cursor, and sends keys in order', async () => {
    const w = await mountManager();
    host.emitScreen(BETA_ID, picture());
    await settle();
    await w.findAll('[role="tab"]').find((t) => t.text() === 'Beta · Screen')!.trigger('click');
    await settle();
    const rows = w.findAll('.grid .row');
    expect(rows).toHaveLength(25);
    expect(rows[0].element.textContent).toBe('C:\\>' + ' '.repeat(76));
    const error = rows[2].findAll('span')[1];
    expect(error.text()).toBe('ERROR');
    expect(error.attributes('style')).toContain('color: #ffffff');
    expect(error.attributes('style')).toContain('background: #aa0000');
    const cursor = w.get('[data-testid="vga-cursor"]');
    expect(cursor.attributes('style')).toContain('left: 4ch');
    expect(w.text()).toContain('80×25 text');

    const surface = w.get('[data-testid="vga-screen"]');
    await surface.trigger('keydown', { code: 'ShiftLeft' });
    await surface.trigger('keydown', { code: 'KeyA' });
    await surface.trigger('keyup', { code: 'KeyA' });
    await surface.trigger('keydown', { code: 'BrowserHome' }); // not a PS/2 key: ignored
    await surface.trigger('blur'); // Shift still held: released
    await settle();
    const sent = host.api.sendKeys.mock.calls.flatMap((c) => c[1]);
    expect(host.api.sendKeys.mock.calls.every((c) => c[0] === BETA_ID)).toBe(true);
    expect(sent).toEqual([
      { code: 'ShiftLeft', down: true },
      { code: 'KeyA', down: true },
      { code: 'KeyA', down: false },
      { code: 'ShiftLeft', down: false },
    ]);
  });

  it('says so when the guest switches to a graphics mode', async () => {
    const w = await mountManager();
    host.emitScreen(BETA_ID, picture());
    host.emitScreen(BETA_ID, { mode: 'graphics' });
    await settle();
    await w.findAll('[role="tab"]').find((t) => t.text() === 'Beta · Screen')!.trigger('click');
    expect(w.text()).toContain('The guest switched the display to a graphics mode. Popek shows text modes only for now.');
  });
});
