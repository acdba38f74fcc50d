/**
 * Renderer entry: connect to the host (Electron bridge or `popek serve`),
 * then mount the app with Pinia and the host provided at the root.
 */
import '@xterm/xterm/css/xterm.css';
import './styles/app.css';
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { connectHost } from './host/connectHost.ts';
import { HOST_KEY } from './host/hostContext.ts';

const connection = connectHost(window);
const root = document.getElementById('app')!;

if (connection.ok) {
  const app = createApp(App);
  app.provide(HOST_KEY, connection.host);
  app.use(createPinia());
  app.mount(root);
} else {
  // No token: nothing can work, say how to get in (textContent: no markup from the URL).
  const box = document.createElement('div');
  box.className = 'no-host';
  const title = document.createElement('h1');
  title.textContent = 'Popek cannot reach its host';
  const text = document.createElement('p');
  text.textContent = connection.message;
  box.append(title, text);
  root.append(box);
}
