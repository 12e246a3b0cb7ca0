// pages/signin.js - sign in, or create an account and sign in, then go
// back to where the person was (?next=, same-site paths only).
import { signIn, signUp } from '../api.js';
import { busy, field, fill, go, h } from '../ui.js';

function nextPath() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/signin') ? n : '/';
}

export async function render(main) {
  const err = h('div');
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const signin = h('form', {
    class: 'stack narrow', 'aria-labelledby': 'signin-h',
    onsubmit: (e) => {
      e.preventDefault();
      busy(submit, err, async () => { await signIn(email.value.trim(), password.value); go(nextPath()); });
    },
  }, h('h1', { id: 'signin-h' }, 'Sign in'), field('Email', email), field('Password', password), err, submit,
  h('p', { class: 'muted' }, 'Demo logins: buyer@demo.tixin or organizer@demo.tixin, password demo-password.'));

  const err2 = h('div');
  const name = h('input', { name: 'name', autocomplete: 'name', required: true });
  const email2 = h('input', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const pw2 = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: '8', required: true });
  const submit2 = h('button', { type: 'submit' }, 'Create account');
  const signup = h('form', {
    class: 'stack narrow', 'aria-labelledby': 'signup-h',
    onsubmit: (e) => {
      e.preventDefault();
      busy(submit2, err2, async () => { await signUp(name.value.trim(), email2.value.trim(), pw2.value); go(nextPath()); });
    },
  }, h('h2', { id: 'signup-h' }, 'New here? Create an account'), field('Name', name), field('Email', email2),
  field('Password', pw2, 'At least 8 characters.'), err2, submit2);
  fill(main, h('div', { class: 'two-col' }, signin, signup));
  email.focus();
}
