// vpcemu web view: draws the topology from /api/topology as plain SVG,
// streams drops and accepted flows from /events (server-sent events) and
// shows the explain walk of a clicked row from /api/explain.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const MAX_ROWS = 500;    // rows kept in the event list
const MAX_TRACES = 12;   // paths drawn on the diagram per batch
const PROTO = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', '-1': 'all' };

const st = {
  view: null, version: -1, status: null,
  counters: new Map(),   // "acl|direction|rule" -> packets (as `vpcemu status`)
  rows: new Map(),       // entry key -> {e, tr}
  addr: new Map(),       // address -> {kind, id, subnet}
  nodes: new Map(),      // node key -> {g, x, y, w, h}
  nodeDrops: new Map(),  // node key -> dropped packets drawn there
  sgDrops: new Map(),    // eni -> dropped packets at its SGs
  paused: false, held: [], queue: [], raf: 0, es: null, retrying: false,
  stats: { batches: 0, entries: 0, lastSeq: 0, missed: 0, renders: [] },
};
// Tests and benchmarks read the page's counters here.
window.vpcemu = st.stats;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function sv(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  if (parent) parent.append(e);
  return e;
}

const protoName = p => PROTO[p] || String(p);
const hostPort = (a, port, proto) => (proto === 6 || proto === 17) && a !== '*' ? (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`) : a;
// toLocaleTimeString builds a formatter per call (slow under a flood): pad by hand.
const pad = n => (n < 10 ? '0' : '') + n;
const clock = t => { const d = new Date(t); return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; };

// ---------- topology ----------

async function loadTopology() {
  const r = await fetch('/api/topology', { cache: 'no-store' });
  if (!r.ok) throw new Error(`topology: ${r.status}`);
  const m = await r.json();
  st.view = m.view;
  st.version = m.version;
  document.title = `vpcemu · ${m.view.name}`;
  indexAddresses();
  draw();
  renderRules();
  fillInstanceFilter();
}

function indexAddresses() {
  st.addr.clear();
  for (const i of st.view.instances) {
    for (const e of i.enis) {
      for (const a of [e.private_ip, e.public_ip, e.ipv6]) if (a) st.addr.set(a, { kind: 'instance', id: i.id, subnet: e.subnet, eni: e.id });
    }
  }
  for (const h of st.view.internet || []) {
    for (const a of [h.ip, h.ipv6]) if (a) st.addr.set(a, { kind: 'host', id: h.name });
  }
}

function nameOf(a) {
  const x = st.addr.get(a);
  return x ? x.id : '';
}

// ---------- diagram ----------

const textW = (s, px) => Math.ceil(String(s).length * (px || 11) * 0.62) + 14;

function node(parent, kind, id, key, x, y, w, h, extraClass) {
  const g = sv('g', { class: `node ${kind} ${extraClass || ''}`, 'data-kind': kind, 'data-id': id, transform: `translate(${x},${y})` }, parent);
  sv('rect', { width: w, height: h, rx: kind === 'badge' ? 3 : 6 }, g);
  st.nodes.set(key, { g, x, y, w, h });
  g.addEventListener('click', ev => { ev.stopPropagation(); selectNode(kind, id, g); });
  return g;
}

function badge(parent, kind, id, key, x, y) {
  const w = textW(id, 10);
  const g = sv('g', { class: `node badge ${kind}`, 'data-kind': kind, 'data-id': id, transform: `translate(${x},${y})` }, parent);
  sv('rect', { width: w, height: 18, rx: 3 }, g);
  sv('text', { x: 7, y: 13, text: id, 'font-size': 10 }, g);
  st.nodes.set(key, { g, x, y, w, h: 18 });
  g.addEventListener('click', ev => { ev.stopPropagation(); selectNode(kind, id, g); });
  return w;
}

function draw() {
  const v = st.view;
  const svg = document.getElementById('diagram');
  svg.replaceChildren();
  st.nodes.clear();
  const SUB_W = 250, INST_H = 92, PAD = 16;
  const hostsW = (v.internet || []).length * 150 + 40;
  // Subnets of each VPC in rows of up to three.
  const vpcs = v.vpcs.map(x => {
    const subs = v.subnets.filter(s => s.vpc === x.id);
    const cols = Math.max(1, Math.min(3, subs.length));
    const count = s => v.instances.filter(i => i.enis.some(e => e.subnet === s.id)).length;
    // Subnets of three or more instances hold them in two columns.
    const instCols = subs.some(s => count(s) >= 3) ? 2 : 1;
    const heights = subs.map(s => {
      const nat = v.gateways.filter(g => g.kind === 'nat-gateway' && g.subnet === s.id).length;
      return 58 + Math.ceil(count(s) / instCols) * INST_H + nat * 44;
    });
    const rows = [];
    for (let i = 0; i < subs.length; i += cols) rows.push(Math.max(...heights.slice(i, i + cols)));
    const strip = [v.security_groups, v.network_acls, v.route_tables].filter(l => (l || []).some(o => o.vpc === x.id)).length;
    const subW = SUB_W * instCols;
    const w = cols * (subW + PAD) + PAD;
    const h = 40 + rows.reduce((a, b) => a + b + PAD, 0) + strip * 26 + 16;
    return { x, subs, cols, rows, instCols, subW, w: Math.max(w, 360), h };
  });
  const vpcsW = vpcs.reduce((a, b) => a + b.w + 60, 0);
  const W = Math.max(hostsW, vpcsW) + 20;
  const TOP = 130;

  // The internet, outside the gateway.
  const cloud = sv('g', { class: 'cloud' }, svg);
  sv('rect', { x: 10, y: 8, width: W - 20, height: 84, rx: 14 }, cloud);
  sv('text', { x: 22, y: 26, class: 'title', text: 'Internet' }, cloud);
  st.nodes.set('internet', { g: cloud, x: 10, y: 8, w: W - 20, h: 84 });
  (v.internet || []).forEach((h, i) => {
    const g = node(svg, 'host', h.name, 'host:' + h.name, 30 + i * 150, 34, 136, 48);
    sv('text', { x: 8, y: 17, class: 'title', text: h.name }, g);
    sv('text', { x: 8, y: 31, class: 'small', text: h.ip + (h.services.length ? ' · ' + h.services.join(',') : '') }, g);
    sv('text', { x: 8, y: 43, class: 'small', text: h.os }, g);
  });

  let vx = 10;
  for (const L of vpcs) {
    drawVPC(svg, v, L, vx, TOP, SUB_W, INST_H, PAD);
    vx += L.w + 60;
  }
  // Peerings: a line between the two VPC boxes.
  for (const p of v.gateways.filter(g => g.kind === 'vpc-peering-connection')) {
    const a = st.nodes.get('vpc:' + p.vpc), b = st.nodes.get('vpc:' + p.peer);
    if (!a || !b) continue;
    const y = TOP + 60;
    const g = node(svg, 'gw', p.id, 'gw:' + p.id, a.x + a.w + 4, y - 14, 52, 28, 'pcx');
    sv('line', { x1: a.x + a.w, y1: y, x2: b.x, y2: y, stroke: '#8c4fff', 'stroke-width': 2 }, svg);
    sv('text', { x: 4, y: 18, 'font-size': 9, text: 'peering' }, g);
    sv('title', { text: `${p.id} (${p.detail || 'active'})` }, g);
  }
  const H = TOP + Math.max(...vpcs.map(L => L.h), 100) + 20;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  st.traces = sv('g', { class: 'traces' }, svg);
  for (const [k, n] of st.nodeDrops) showDropCount(k, n);
}

function drawVPC(svg, v, L, X, Y, SUB_W, INST_H, PAD) {
  const vg = sv('g', { class: 'vpc', 'data-kind': 'vpc', 'data-id': L.x.id }, svg);
  sv('rect', { x: X, y: Y, width: L.w, height: L.h, rx: 4 }, vg);
  sv('text', { x: X + 10, y: Y + 20, class: 'title', text: `${L.x.id}  ${L.x.cidrs.join(', ')}${L.x.ipv6 ? '  ' + L.x.ipv6 : ''}` }, vg);
  st.nodes.set('vpc:' + L.x.id, { g: vg, x: X, y: Y, w: L.w, h: L.h });
  // Gateways on the VPC's top edge.
  const edge = v.gateways.filter(g => g.vpc === L.x.id && (g.kind === 'internet-gateway' || g.kind === 'egress-only-internet-gateway'));
  edge.forEach((gw, i) => {
    const w = textW(gw.id, 11) + 8;
    const gx = X + L.w / 2 - (edge.length * (w + 10)) / 2 + i * (w + 10);
    const kind = gw.kind === 'internet-gateway' ? 'igw' : 'eigw';
    const g = node(svg, kind, gw.id, kind + ':' + gw.id, gx, Y - 15, w, 30, 'gw');
    sv('text', { x: 8, y: 19, text: gw.id, 'font-size': 11 }, g);
    sv('title', { text: gw.kind }, g);
  });
  let y = Y + 36;
  L.subs.forEach((s, i) => {
    const col = i % L.cols, row = Math.floor(i / L.cols);
    if (col === 0 && row > 0) y += L.rows[row - 1] + PAD;
    drawSubnet(svg, v, s, X + PAD + col * (L.subW + PAD), y, L.subW, L.rows[row], INST_H, L.instCols);
  });
  y += (L.rows[L.rows.length - 1] || 0) + PAD;
  // The VPC's groups, ACLs and route tables, each clickable for its rules.
  const strip = [['security groups', 'sg', v.security_groups], ['network ACLs', 'nacl', v.network_acls], ['route tables', 'rtb', v.route_tables]];
  for (const [label, kind, list] of strip) {
    const mine = (list || []).filter(o => o.vpc === L.x.id);
    if (!mine.length) continue;
    sv('text', { x: X + PAD, y: y + 13, class: 'small', text: label }, svg);
    let bx = X + PAD + 100;
    for (const o of mine) bx += badge(svg, kind, o.id, `${kind}:${o.id}`, bx, y) + 6;
    y += 26;
  }
  for (const ep of v.gateways.filter(g => g.kind === 'gateway-endpoint' && g.vpc === L.x.id)) {
    const w = textW(ep.id, 10);
    const g = node(svg, 'gw', ep.id, 'gw:' + ep.id, X + L.w - w - 8, Y + 6, w, 22);
    sv('text', { x: 6, y: 15, 'font-size': 10, text: ep.id }, g);
    sv('title', { text: ep.detail }, g);
  }
}

function drawSubnet(svg, v, s, X, Y, W, H, INST_H, instCols) {
  const g = sv('g', { class: `node subnet ${s.public ? 'public' : 'private'}`, 'data-kind': 'subnet', 'data-id': s.id }, svg);
  sv('rect', { x: X, y: Y, width: W, height: H, rx: 3 }, g);
  sv('text', { x: X + 8, y: Y + 30, class: 'title', text: s.id }, g);
  sv('text', { x: X + 8, y: Y + 44, class: 'small', text: `${s.cidr}${s.ipv6 ? ' ' + s.ipv6 : ''} · ${s.public ? 'public' : 'private'} · ${s.az}` }, g);
  st.nodes.set('subnet:' + s.id, { g, x: X, y: Y, w: W, h: H });
  g.addEventListener('click', () => selectNode('subnet', s.id, g));
  // Its NACL sits on its edge; its route table beside it.
  const nw = badge(svg, 'nacl', s.network_acl, `nacl:${s.network_acl}@${s.id}`, X + 6, Y - 9);
  if (s.route_table) badge(svg, 'rtb', s.route_table, `rtb:${s.route_table}@${s.id}`, X + 12 + nw, Y - 9);
  let y = Y + 54, k = 0;
  const cw = (W - 20) / instCols;
  for (const i of v.instances) {
    const eni = i.enis.find(e => e.subnet === s.id);
    if (!eni) continue;
    drawInstance(svg, i, eni, X + 10 + (k % instCols) * cw, y, cw - (instCols > 1 ? 8 : 0), INST_H - 8);
    k++;
    if (k % instCols === 0) y += INST_H;
  }
  if (k % instCols !== 0) y += INST_H;
  for (const n of v.gateways.filter(gw => gw.kind === 'nat-gateway' && gw.subnet === s.id)) {
    const gg = node(svg, 'nat', n.id, 'nat:' + n.id, X + 10, y, W - 20, 36, 'gw');
    sv('text', { x: 8, y: 15, class: 'title', text: n.id }, gg);
    sv('text', { x: 8, y: 29, class: 'small', text: 'NAT gateway · ' + (n.detail || '') }, gg);
    y += 44;
  }
}

function drawInstance(svg, i, eni, X, Y, W, H) {
  // The SGs wrap the instance, as in AWS diagrams; one badge per group.
  sv('rect', { x: X, y: Y, width: W, height: H, rx: 4, class: 'sgbox' }, svg);
  let bx = X + 6;
  for (const sg of eni.security_groups) bx += badge(svg, 'sg', sg, `sg:${sg}@${i.id}`, bx, Y + 4) + 4;
  const primary = eni.id === i.enis[0].id;
  const g = node(svg, 'instance', i.id, primary ? 'instance:' + i.id : `instance:${i.id}@${eni.id}`, X + 8, Y + 26, W - 16, H - 32, 'inst');
  sv('text', { x: 8, y: 15, class: 'title', text: i.id }, g);
  sv('text', { x: 8, y: 29, class: 'small', text: [eni.private_ip, eni.public_ip, eni.ipv6].filter(Boolean).join(' · ') }, g);
  sv('text', { x: 8, y: 41, class: 'small', text: `${eni.id} · ${i.os}` }, g);
  sv('title', { text: `${i.id} (${i.os}); services: ${i.services.join(', ') || 'none'}` }, g);
}

function center(key) {
  const n = st.nodes.get(key);
  return n ? [n.x + n.w / 2, n.y + n.h / 2] : null;
}

// endpointKey is the diagram node of an address: an instance, a declared
// internet host, or the internet itself.
function endpointKey(a) {
  const x = st.addr.get(a);
  if (!x) return 'internet';
  return x.kind === 'instance' ? 'instance:' + x.id : 'host:' + x.id;
}

function instanceSubnet(id) {
  const i = st.view.instances.find(x => x.id === id);
  return i ? i.enis[0].subnet : '';
}

function subnetNACLKey(subnet) {
  const s = st.view.subnets.find(x => x.id === subnet);
  return s ? `nacl:${s.network_acl}@${s.id}` : null;
}

function igwKey(subnet) {
  const s = st.view.subnets.find(x => x.id === subnet);
  const g = st.view.gateways.find(x => x.kind === 'internet-gateway' && (!s || x.vpc === s.vpc));
  return g ? 'igw:' + g.id : null;
}

// trace draws one row's path: accepted flows end at the receiver, drops
// at the SG or NACL that dropped them (with an ✕ and a running count).
function trace(e) {
  if (!st.traces || e.overflow) return;
  const src = st.addr.get(e.src), dst = st.addr.get(e.dst);
  const srcSub = src && src.kind === 'instance' ? src.subnet : null;
  const dstSub = dst && dst.kind === 'instance' ? dst.subnet : null;
  const keys = [endpointKey(e.src)];
  if (srcSub && srcSub !== dstSub) keys.push(subnetNACLKey(srcSub));
  if (!srcSub && dstSub) keys.push(igwKey(dstSub));
  if (srcSub && !dstSub) keys.push(igwKey(srcSub));
  let end = endpointKey(e.dst);
  if (e.kind === 'drop') {
    if (e.component === 'nacl') {
      const sub = e.direction === 'inbound' ? dstSub || instanceSubnet(e.instance) : srcSub || instanceSubnet(e.instance);
      end = subnetNACLKey(sub);
      if (e.direction === 'outbound') keys.splice(1);
    } else {
      if (dstSub && srcSub !== dstSub) keys.push(subnetNACLKey(dstSub));
      end = `sg:${(e.security_groups || [])[0]}@${e.instance}`;
      if (e.direction === 'outbound') keys.splice(1);
    }
  } else if (dstSub && srcSub !== dstSub) {
    keys.push(subnetNACLKey(dstSub));
  }
  keys.push(end);
  const pts = keys.filter(Boolean).map(center).filter(Boolean);
  if (pts.length < 2) return;
  const p = sv('polyline', { class: `trace ${e.kind}`, points: pts.map(q => q.join(',')).join(' ') }, st.traces);
  setTimeout(() => p.remove(), 1900);
  const n = st.nodes.get(end);
  if (!n) return;
  n.g.classList.add(e.kind === 'drop' ? 'hit-deny' : 'hit-allow');
  clearTimeout(n.timer);
  n.timer = setTimeout(() => n.g.classList.remove('hit-deny', 'hit-allow'), 1200);
  if (e.kind === 'drop') {
    const [x, y] = pts[pts.length - 1];
    const m = sv('text', { class: 'xmark', x: x - 5, y: y + 6, text: '✕' }, st.traces);
    setTimeout(() => m.remove(), 1900);
  }
}

function countDrop(e) {
  if (e.kind !== 'drop') return;
  let key;
  if (e.component === 'nacl') {
    const dst = st.addr.get(e.dst), src = st.addr.get(e.src);
    const x = e.direction === 'inbound' ? dst : src;
    key = subnetNACLKey(x && x.subnet ? x.subnet : instanceSubnet(e.instance));
  } else {
    key = `sg:${(e.security_groups || [])[0]}@${e.instance}`;
    st.sgDrops.set(e.eni, (st.sgDrops.get(e.eni) || 0) + e.packets);
  }
  if (!key) return;
  const n = (st.nodeDrops.get(key) || 0) + e.packets;
  st.nodeDrops.set(key, n);
  showDropCount(key, n);
}

function showDropCount(key, n) {
  const nd = st.nodes.get(key);
  if (!nd) return;
  if (!nd.count) nd.count = sv('text', { class: 'count', x: nd.w + 3, y: 12 }, nd.g);
  nd.count.textContent = '✕' + n;
}

function selectNode(kind, id, g) {
  document.querySelectorAll('#diagram .node.sel').forEach(x => x.classList.remove('sel'));
  if (g) g.classList.add('sel');
  if (kind === 'instance') {
    document.getElementById('f-instance').value = id;
    applyFilters();
  }
  renderRules({ kind, id });
  showTab('rules');
}

// ---------- rule tables ----------

function naclRows(acl, egress) {
  return egress ? acl.egress : acl.ingress;
}

function naclTable(acl, egress, decider) {
  const dir = egress ? 'outbound' : 'inbound';
  const t = el('table', { class: 'rt', 'data-acl': acl.id, 'data-dir': dir },
    el('caption', { text: `${acl.id} ${dir} rules${acl.default ? ' (default NACL)' : ''}` }),
    el('tr', {}, el('th', { text: 'rule' }), el('th', { text: 'protocol' }), el('th', { text: 'ports' }),
      el('th', { text: egress ? 'destination' : 'source' }), el('th', { text: 'action' }), el('th', { class: 'n', text: 'packets' })));
  for (const r of naclRows(acl, egress)) {
    const key = `${acl.id}|${dir}|${r.rule}`;
    const hit = decider && decider.rule_number === r.number && !!decider.ipv6 === r.rule.includes('(v6)');
    t.append(el('tr', { class: hit ? `decider ${r.action}` : null, 'data-rule': r.rule },
      el('td', { text: r.rule }), el('td', { text: r.protocol }), el('td', { text: r.ports }), el('td', { text: r.cidr }),
      el('td', { class: r.action, text: r.action }),
      el('td', { class: 'n', 'data-counter': key, text: st.counters.has(key) ? String(st.counters.get(key)) : '–' })));
  }
  return t;
}

function sgTable(sg, egress, hits, denied) {
  const dir = egress ? 'outbound' : 'inbound';
  const list = egress ? sg.egress : sg.ingress;
  const t = el('table', { class: 'rt', 'data-sg': sg.id, 'data-dir': dir },
    el('caption', { text: `${sg.id} ${dir} rules${sg.description ? ' — ' + sg.description : ''}` }),
    el('tr', {}, el('th', { text: '#' }), el('th', { text: 'protocol' }), el('th', { text: 'ports' }),
      el('th', { text: egress ? 'destination' : 'source' }), el('th', { text: 'description' })));
  if (!list.length) t.append(el('tr', {}, el('td', { colspan: 5, class: 'note', text: `no ${dir} rules: everything ${dir} is denied` })));
  for (const r of list) {
    const hit = (hits || []).some(h => h.SecurityGroup === sg.id && h.Egress === egress && h.Index === r.index);
    t.append(el('tr', { class: hit ? 'decider' : null, 'data-index': r.index },
      el('td', { text: String(r.index + 1) }), el('td', { text: r.protocol }), el('td', { text: r.ports }),
      el('td', { text: r.peer }), el('td', { text: r.description || '' })));
  }
  if (denied) t.append(el('tr', { class: 'decider deny' }, el('td', { colspan: 5, text: `no rule matches: denied (${denied})` })));
  return t;
}

// sgUsage says where a group is attached and what `vpcemu status` counts
// there: tracked connections per ENI (SGs have no per-rule counters), and
// the drops this page has seen.
function sgUsage(sg) {
  const ul = el('ul', { class: 'note' });
  for (const i of st.view.instances) {
    for (const e of i.enis) {
      if (!e.security_groups.includes(sg.id)) continue;
      const s = st.status && (st.status.instances || []).find(x => x.eni === e.id);
      const ct = s && s.conntrack ? `${s.conntrack.tracked} tracked connections` : 'tracked connections: –';
      ul.append(el('li', {}, `${i.id} (${e.id}): `, el('span', { 'data-tracked': e.id, text: ct }),
        `, drops seen here: `, el('span', { 'data-sgdrops': e.id, text: String(st.sgDrops.get(e.id) || 0) })));
    }
  }
  if (!ul.children.length) ul.append(el('li', { text: 'attached to no ENI' }));
  return ul;
}

function renderRules(sel) {
  const box = document.getElementById('tab-rules');
  box.replaceChildren();
  const v = st.view;
  if (!v) return;
  let acls = v.network_acls, sgs = v.security_groups, rtbs = v.route_tables || [];
  if (sel && sel.kind === 'nacl') { acls = acls.filter(a => a.id === sel.id); sgs = []; rtbs = []; }
  if (sel && sel.kind === 'sg') { sgs = sgs.filter(a => a.id === sel.id); acls = []; rtbs = []; }
  if (sel && sel.kind === 'rtb') { rtbs = rtbs.filter(a => a.id === sel.id); acls = []; sgs = []; }
  if (sel && sel.kind === 'subnet') {
    const s = v.subnets.find(x => x.id === sel.id);
    acls = acls.filter(a => s && a.id === s.network_acl); sgs = []; rtbs = rtbs.filter(r => s && r.id === s.route_table);
  }
  if (sel && sel.kind === 'instance') {
    const i = v.instances.find(x => x.id === sel.id);
    const mine = new Set(i ? i.enis.flatMap(e => e.security_groups) : []);
    const subs = new Set(i ? i.enis.map(e => e.subnet) : []);
    sgs = sgs.filter(s => mine.has(s.id));
    acls = acls.filter(a => v.subnets.some(s => subs.has(s.id) && s.network_acl === a.id));
    rtbs = [];
  }
  if (sel && sel.kind) box.append(el('p', {}, el('button', { type: 'button', text: 'show all', on: { click: () => renderRules() } })));
  if (acls.length) box.append(el('h3', { text: 'Network ACLs (packets: the rule hit counters `vpcemu status` shows)' }));
  for (const a of acls) box.append(naclTable(a, false), naclTable(a, true));
  if (sgs.length) box.append(el('h3', { text: 'Security groups' }));
  for (const s of sgs) box.append(sgTable(s, false), sgTable(s, true), sgUsage(s));
  if (rtbs.length) box.append(el('h3', { text: 'Route tables' }));
  for (const r of rtbs) {
    const t = el('table', { class: 'rt' }, el('caption', { text: r.id + (r.main ? ' (main)' : '') }),
      el('tr', {}, el('th', { text: 'destination' }), el('th', { text: 'target' })));
    for (const x of r.routes) t.append(el('tr', {}, el('td', { text: x.dest }), el('td', { class: x.blackhole ? 'deny' : null, text: x.target + (x.blackhole ? ' (blackhole)' : '') })));
    box.append(t);
  }
}

// ---------- status ----------

function applyStatus(m) {
  st.status = m.status;
  if (m.version !== st.version && st.view) loadTopology().catch(showError);
  for (const n of (m.status && m.status.network_acls) || []) {
    for (const r of n.rules) st.counters.set(`${n.id}|${r.direction}|${r.rule}`, r.packets);
  }
  for (const c of document.querySelectorAll('[data-counter]')) {
    const v = st.counters.get(c.dataset.counter);
    if (v !== undefined && c.textContent !== String(v)) c.textContent = String(v);
  }
  for (const i of (m.status && m.status.instances) || []) {
    for (const c of document.querySelectorAll(`[data-tracked="${i.eni}"]`)) {
      if (i.conntrack) c.textContent = `${i.conntrack.tracked} tracked connections`;
    }
  }
}

function showTotals(t) {
  if (!t) return;
  const reasons = Object.entries(t.drops_by_reason || {}).map(([k, v]) => `${k} ${v}`).join(', ');
  document.getElementById('totals').textContent =
    `dropped ${t.drop_packets} packets${reasons ? ' (' + reasons + ')' : ''} · accepted ${t.flow_packets} packets`;
}

// ---------- events ----------

function rowCells(e) {
  const act = e.kind === 'drop' ? 'DROP' : 'ACCEPT';
  const src = hostPort(e.src, e.src_port, e.protocol), dst = hostPort(e.dst, e.dst_port, e.protocol);
  const sn = nameOf(e.src), dn = nameOf(e.dst);
  let why = '';
  if (e.kind === 'drop') {
    if (e.component === 'nacl') {
      const n = e.rule_number >= 32767 ? '*' : e.rule_number;
      why = e.reason === 'SUBNET_ACL_RESTRICTION' ? `${e.acl} ${e.direction} rule ${n}${e.rule ? ' (' + e.rule + ')' : ''}` : `${e.acl}: ${e.reason}`;
    } else {
      why = `${(e.security_groups || []).join(', ') || 'SGs'}: ${e.reason}`;
    }
  }
  let pk = String(e.packets);
  if (e.overflow) pk += ` in ≤${e.flows} flows`;
  let proto = protoName(e.protocol);
  if (e.protocol === 1 || e.protocol === 58) proto += ` ${e.icmp_type}/${e.icmp_code}`;
  return [clock(e.time), act, e.instance || e.eni || '–', e.direction, proto,
    sn ? `${sn} ${src}` : src, dn ? `${dn} ${dst}` : dst, pk, why];
}

function fillRow(tr, e) {
  const cells = rowCells(e);
  if (!tr.children.length) {
    cells.forEach((c, i) => tr.append(el('td', { class: i === 1 ? `act-${e.kind}` : i === 8 ? 'why' : null, text: c })));
  } else {
    cells.forEach((c, i) => { if (tr.children[i].textContent !== c) tr.children[i].textContent = c; });
  }
}

function matches(e) {
  const fi = document.getElementById('f-instance').value, fa = document.getElementById('f-action').value, fp = document.getElementById('f-proto').value;
  if (fi && e.instance !== fi && nameOf(e.src) !== fi && nameOf(e.dst) !== fi) return false;
  if (fa && e.kind !== fa) return false;
  if (fp && String(e.protocol) !== fp) return false;
  return true;
}

function applyFilters() {
  for (const r of st.rows.values()) r.tr.hidden = !matches(r.e);
}

// addEntry merges e into its row (a new one if needed) and returns the row.
function addEntry(e) {
  let r = st.rows.get(e.key);
  if (r) {
    r.e.packets += e.packets;
    r.e.flows += e.flows;
    r.e.time = e.time;
    r.e.tcp_flags |= e.tcp_flags || 0;
    fillRow(r.tr, r.e);
  } else {
    const tr = el('tr', { 'data-key': e.key, 'data-kind': e.kind, 'data-reason': e.reason || null, 'data-sg': (e.security_groups || [])[0] || null,
      'data-acl': e.acl || null, 'data-rule': e.component === 'nacl' ? String(e.rule_number) : null, class: e.overflow ? 'agg' : null });
    r = { e: { ...e }, tr };
    fillRow(tr, r.e);
    tr.addEventListener('click', () => explainRow(r));
    st.rows.set(e.key, r);
  }
  r.tr.hidden = !matches(r.e);
  return r.tr;
}

// addEntries puts a batch's rows on top of the list, newest first, in one
// DOM insertion, and drops the oldest beyond MAX_ROWS.
function addEntries(entries) {
  const body = document.querySelector('#events tbody');
  const trs = new Set();
  for (const e of entries) { trs.delete(addEntry(e)); trs.add(st.rows.get(e.key).tr); }
  const frag = document.createDocumentFragment();
  for (const tr of [...trs].reverse()) frag.append(tr);
  body.prepend(frag);
  while (st.rows.size > MAX_ROWS) {
    const last = body.lastElementChild;
    st.rows.delete(last.dataset.key);
    last.remove();
  }
}

function applyBatch(b) {
  st.stats.batches++;
  st.stats.lastSeq = b.seq || st.stats.lastSeq;
  st.stats.entries += b.entries.length;
  if (b.missed) st.stats.missed += b.missed;
  showTotals(b.totals);
  if (st.paused) { st.held.push(...b.entries); st.held.splice(0, Math.max(0, st.held.length - MAX_ROWS)); return; }
  addEntries(b.entries);
  for (const e of b.entries) countDrop(e);
  const top = [...b.entries].sort((a, c) => c.packets - a.packets).slice(0, MAX_TRACES);
  for (const e of top) trace(e);
  const note = document.getElementById('ev-note');
  note.textContent = st.stats.missed ? `${st.stats.missed} updates skipped (this page was behind; totals stay exact)` : '';
}

// Batches are applied once per animation frame; the time from the first
// queued batch's arrival to the frame after it is painted is the page's
// render time (BENCHMARKS.md).
function queueBatch(b) {
  st.queue.push({ b, t0: performance.now() });
  if (st.raf) return;
  st.raf = requestAnimationFrame(() => {
    st.raf = 0;
    const q = st.queue;
    st.queue = [];
    const a0 = performance.now();
    for (const x of q) applyBatch(x.b);
    st.stats.apply = (st.stats.apply || []).concat([performance.now() - a0]).slice(-50);
    requestAnimationFrame(() => {
      const ms = performance.now() - q[0].t0;
      st.stats.renders.push(ms);
      if (st.stats.renders.length > 1000) st.stats.renders.shift();
    });
  });
}

function renderRecords(recs) {
  const box = document.getElementById('tab-flowlogs');
  for (const r of recs) {
    let sec = box.querySelector(`section[data-fl="${CSS.escape(r.flow_log)}"]`);
    if (!sec) {
      box.querySelector('.hint') && box.querySelector('.hint').remove();
      sec = el('section', { 'data-fl': r.flow_log }, el('h3', { text: `flow log ${r.flow_log}` }), el('pre', {}));
      box.append(sec);
    }
    const pre = sec.querySelector('pre');
    const lines = (pre.dataset.lines ? pre.dataset.lines.split('\n') : []).concat(r.lines).slice(-300);
    pre.dataset.lines = lines.join('\n');
    pre.textContent = `${r.header}\n${lines.join('\n')}\n\n(last written ${clock(r.time)}; records appear when an aggregation window closes)`;
  }
}

// ---------- explain ----------

async function explainRow(r) {
  document.querySelectorAll('#events tr.sel').forEach(x => x.classList.remove('sel'));
  r.tr.classList.add('sel');
  showTab('explain');
  const box = document.getElementById('tab-explain');
  const e = r.e;
  if (e.overflow) {
    box.replaceChildren(el('p', { class: 'note', text: 'This row sums many flows (more than a batch shows one by one): pick a single flow to explain.' }));
    return;
  }
  box.replaceChildren(el('p', { class: 'note', text: 'asking the reference evaluator…' }));
  const q = new URLSearchParams({ protocol: e.protocol, src: e.src, dst: e.dst, src_port: e.src_port, dst_port: e.dst_port,
    tcp_flags: e.tcp_flags || 0, icmp_type: e.icmp_type || 0, icmp_code: e.icmp_code || 0 });
  try {
    const resp = await fetch('/api/explain?' + q, { cache: 'no-store' });
    if (!resp.ok) throw new Error(await resp.text());
    renderExplain(box, e, await resp.json());
  } catch (err) {
    box.replaceChildren(el('p', { class: 'deny', text: 'explain: ' + err.message }));
  }
}

function renderExplain(box, e, x) {
  const a = x.analysis;
  box.replaceChildren();
  box.append(el('div', { class: 'verdict' + (a.NetworkPathFound ? '' : ' no'), id: 'verdict', text: a.Verdict }));
  for (const ex of a.Explanations || []) {
    box.append(el('p', {}, el('span', { class: 'code', 'data-code': ex.ExplanationCode, text: ex.ExplanationCode }),
      ` on the ${ex.Path} path at ${(ex.Component && ex.Component.Id) || (ex.Acl && ex.Acl.Id) || ''}`));
  }
  const q = x.query;
  const what = `${protoName(q.Protocol)}${q.Port ? ' port ' + q.Port : ''}${q.SourcePort ? ' from port ' + q.SourcePort : ''}`;
  box.append(el('p', { class: 'note', text: x.reply
    ? `The row's packet is the reply of a flow ${q.From} opened to ${q.To} (${what}): the walk starts with the request.`
    : `The flow ${q.From} → ${q.To} (${what}), as \`vpcemu explain\` walks it over the rules applied now.` }));
  for (const path of ['forward', 'return']) {
    const hops = x.walk.filter(h => h.path === path);
    if (!hops.length) continue;
    box.append(el('h3', { text: path === 'forward' ? `Forward path: ${a.Source} → ${a.Destination}` : `Return path: ${a.Destination} → ${a.Source}` }));
    const ol = el('ol', { class: 'hops' });
    for (const h of hops) ol.append(hopItem(h));
    box.append(ol);
  }
  if (a.Suggestion) box.append(el('p', {}, el('b', { text: 'Fix: ' }), a.Suggestion));
  box.append(el('details', {}, el('summary', { text: 'as `vpcemu explain` prints it' }), el('pre', { text: x.text })));
  // The hop that decided against the flow is what the user asked about.
  const deny = box.querySelector('li.hop.DENY, li.hop.DROP');
  if (deny && box.scrollHeight > box.clientHeight) box.scrollTop = Math.max(0, deny.offsetTop - box.offsetTop - 120);
}

function hopItem(h) {
  const li = el('li', { class: `hop ${h.decision}`, 'data-kind': h.kind, 'data-code': h.code || null },
    el('div', {}, el('span', { class: 'dec', text: h.decision }), ` ${h.seq}. ${h.component}`),
    el('div', { class: 'why', text: h.why }),
    el('div', { class: 'pkt', text: h.packet }));
  const v = st.view;
  if (h.kind === 'network-acl') {
    const acl = v.network_acls.find(a => a.id === h.acl);
    if (acl) li.append(naclTable(acl, h.egress, h));
  } else if (h.kind === 'security-group') {
    if (h.by_state) li.append(el('p', { class: 'note', text: 'admitted by connection tracking: the reply of a tracked flow needs no rule' }));
    for (const id of h.security_groups || []) {
      const sg = v.security_groups.find(s => s.id === id);
      const denied = h.decision === 'DENY' && id === h.security_groups[h.security_groups.length - 1] ? h.code : '';
      if (sg && !h.by_state) li.append(sgTable(sg, h.egress, h.sg_rules, denied));
    }
  }
  return li;
}

// ---------- page ----------

function showTab(name) {
  for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('on', b.dataset.tab === name);
  for (const t of document.querySelectorAll('.tab')) t.hidden = t.id !== 'tab-' + name;
}

function fillInstanceFilter() {
  const s = document.getElementById('f-instance');
  const cur = s.value;
  s.replaceChildren(el('option', { value: '', text: 'all' }));
  for (const i of st.view.instances) s.append(el('option', { value: i.id, text: i.id }));
  for (const h of st.view.internet || []) s.append(el('option', { value: h.name, text: h.name }));
  s.value = cur;
}

async function loadPeers() {
  const s = document.getElementById('topology');
  try {
    const r = await fetch('/api/topologies', { cache: 'no-store' });
    if (!r.ok) return;
    const peers = await r.json();
    s.replaceChildren();
    for (const p of peers) {
      const o = el('option', { value: p.self ? '' : (p.ui ? `http://${p.ui}/` : ''), text: p.name + (p.self ? '' : p.ui ? ` (${p.ui})` : ' (no web view)'), selected: p.self || null, disabled: !p.self && !p.ui ? true : null });
      s.append(o);
    }
  } catch (err) { /* the banner says the daemon is gone */ }
}

function banner(text) {
  const b = document.getElementById('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function conn(cls, text) {
  const c = document.getElementById('conn');
  c.className = 'conn ' + cls;
  c.textContent = text;
}

function showError(err) { banner(String(err && err.message || err)); }

function connect() {
  const es = new EventSource('/events');
  st.es = es;
  es.addEventListener('hello', ev => {
    const h = JSON.parse(ev.data);
    conn('live', 'live');
    banner('');
    showTotals(h.totals);
    if (h.recent && h.recent.length) queueBatch({ entries: h.recent, totals: h.totals });
    renderRecords(h.records || []);
  });
  es.addEventListener('batch', ev => queueBatch(JSON.parse(ev.data)));
  es.addEventListener('status', ev => applyStatus(JSON.parse(ev.data)));
  es.addEventListener('records', ev => renderRecords([JSON.parse(ev.data)]));
  es.addEventListener('bye', ev => {
    es.close();
    conn('down', 'stopped');
    banner(`${JSON.parse(ev.data).reason}: this is its last state. The page reconnects when a daemon serves this address again.`);
    retry();
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      conn('down', 'disconnected');
      banner('The daemon is not answering: it may have stopped (vpcemu down). Reconnecting…');
      retry();
    } else {
      conn('wait', 'reconnecting…');
      banner('Connection to the daemon lost. Reconnecting…');
    }
  };
}

function retry() {
  if (st.retrying) return;
  st.retrying = true;
  const again = () => setTimeout(async () => {
    try {
      const r = await fetch('/api/topology', { cache: 'no-store' });
      if (r.ok) { location.reload(); return; }
    } catch (err) { /* still down */ }
    again();
  }, 2000);
  again();
}

document.addEventListener('DOMContentLoaded', async () => {
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  for (const id of ['f-instance', 'f-action', 'f-proto']) document.getElementById(id).addEventListener('change', applyFilters);
  document.getElementById('topology').addEventListener('change', ev => { if (ev.target.value) location.href = ev.target.value; });
  document.getElementById('pause').addEventListener('click', ev => {
    st.paused = !st.paused;
    ev.target.textContent = st.paused ? 'resume' : 'pause';
    if (!st.paused && st.held.length) { const h = st.held; st.held = []; queueBatch({ entries: h }); }
  });
  try {
    await loadTopology();
  } catch (err) {
    showError(err);
    retry();
    return;
  }
  loadPeers();
  setInterval(loadPeers, 10000);
  connect();
});
