// The console's only script: live updates over server-sent events, and the new-campaign form's
// sample contacts following the chosen type. Every fragment it inserts was rendered (and escaped)
// by the server.
(() => {
  const replace = (id, fragment) => {
    const element = document.getElementById(id);
    if (element) element.outerHTML = fragment;
    return Boolean(element);
  };

  const url = document.body.dataset.events;
  if (url && 'EventSource' in window) {
    const events = new EventSource(url);
    const on = (name, apply) => events.addEventListener(name, (e) => apply(JSON.parse(e.data)));
    on('campaign', (d) => replace(`c-${d.id}`, d.html));
    on('summary', (d) => replace('summary', d.html));
    on('messages', (d) => replace('messages', d.html));
    on('message', (d) => replace(`m-${d.id}`, d.html));
    on('clock', (d) => {
      const clock = document.getElementById('clock');
      if (clock) clock.textContent = d.text;
    });
    events.addEventListener('open', () => document.body.setAttribute('data-live', 'true'));
    window.addEventListener('pagehide', () => events.close());
  }

  for (const control of document.querySelectorAll('form[data-fetch]')) {
    control.addEventListener('submit', (e) => {
      e.preventDefault();
      const button = control.querySelector('button');
      button.disabled = true;
      fetch(control.action, { method: 'POST', body: new URLSearchParams(new FormData(control)), redirect: 'manual' })
        .catch(() => control.submit())
        .finally(() => {
          button.disabled = false;
        });
    });
  }

  const form = document.querySelector('form.create');
  if (form) {
    const channel = form.elements.namedItem('channel');
    const contacts = form.elements.namedItem('contacts');
    const sync = () => {
      form.dataset.channel = channel.value;
      const samples = [contacts.dataset.sampleSms, contacts.dataset.sampleEmail];
      // Swap the sample for the other type's, but never an operator's own list.
      if (samples.includes(contacts.value)) {
        contacts.value = channel.value === 'email' ? contacts.dataset.sampleEmail : contacts.dataset.sampleSms;
      }
    };
    channel.addEventListener('change', sync);
    sync();
  }
})();
