// The inputs of golden.jsonl: texts and pairs chosen to hit every stage of the XLM-R fast
// tokenizer (special-token split, Precompiled per grapheme, Replace, Metaspace, Unigram ties and
// unknowns, template, truncation). golden.js turns them into ids.
'use strict'

const SEED_QUERIES = ['人工智能的发展趋势', '中国的首都是哪里?']
const SEED_PASSAGES = [
  '北京是中国的政治中心和首都。',
  '首都机场位于北京,是中国重要交通枢纽。',
  '人工智能正在深刻改变各行各业,大模型是当前的发展趋势。',
  '上海是中国最大的经济中心城市。',
]
const SEED_OTHER = [
  'what is panda?',
  'hi',
  'The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.',
  '首都',
]

const LANGUAGES = {
  zh: ['机器学习是人工智能的一个分支。', '今天天气很好，我们去公园散步吧！', '長城是中國古代的偉大工程。', '深度学习模型需要大量的训练数据和计算资源。'],
  ja: ['東京は日本の首都です。', 'わたしは毎朝コーヒーを飲みます。', 'カタカナとひらがなと漢字を使います。', 'ｶﾀｶﾅの半角文字も使われます。'],
  ko: ['서울은 대한민국의 수도입니다.', '한국어 형태소 분석은 어렵습니다.', '안녕하세요, 만나서 반갑습니다!'],
  ar: ['القاهرة هي عاصمة مصر.', 'مرحبا بالعالم', 'اللغة العربية جميلة جدا، أليس كذلك؟', 'الذكاء الاصطناعي يغير العالم'],
  he: ['ירושלים היא עיר עתיקה.', 'שלום עולם', 'אני אוהב לקרוא ספרים.'],
  ru: ['Москва — столица России.', 'Привет, как дела?', 'Съешь же ещё этих мягких французских булок, да выпей чаю.'],
  uk: ['Київ — столиця України.', 'Ґрунт і їжак.'],
  el: ['Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.', 'Καλημέρα κόσμε', 'ΆΈΉΊΌΎΏ άέήίόύώ ϊϋΐΰ'],
  th: ['กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย', 'สวัสดีครับ', 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ'],
  hi: ['नई दिल्ली भारत की राजधानी है।', 'नमस्ते दुनिया', 'क्षत्रिय और ज्ञान'],
  ta: ['சென்னை தமிழ்நாட்டின் தலைநகரம்.', 'வணக்கம் உலகம்', 'கொ கோ கௌ பொருள்'],
  bn: ['ঢাকা বাংলাদেশের রাজধানী।'],
  en: ['The quick brown fox jumps over the lazy dog.', "It's a truth universally acknowledged.", 'Reranking improves retrieval-augmented generation.'],
  de: ['Berlin ist die Hauptstadt Deutschlands.', 'Größe, Übermut und Ärger: straße vs. STRASSE.'],
  fr: ['Paris est la capitale de la France.', "L'été dernier, j'ai mangé des crêpes à Noël."],
  es: ['Madrid es la capital de España.', '¿Dónde está la biblioteca? ¡Allí!'],
  it: ['Roma è la capitale d\u2019Italia.'],
  pt: ['Lisboa é a capital de Portugal.', 'Ação, coração e pão.'],
  fa: ['تهران پایتخت ایران است.', 'می‌خواهم'],
  vi: ['Hà Nội là thủ đô của Việt Nam.', 'Tiếng Việt có nhiều dấu thanh.'],
  tr: ['Ankara Türkiye\u2019nin başkentidir.', 'İstanbul ılık ığdır'],
  pl: ['Warszawa jest stolicą Polski.', 'Zażółć gęślą jaźń.'],
  cs: ['Praha je hlavní město České republiky.'],
  ka: ['თბილისი საქართველოს დედაქალაქია.'],
  hy: ['Երևանը Հայաստանի մայրաքաղաքն է։'],
  am: ['አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።'],
  sv: ['Stockholm är Sveriges huvudstad.'],
  nl: ['Amsterdam is de hoofdstad van Nederland.'],
}

const CONTROL = []
for (let c = 0; c < 0x20; c++) CONTROL.push(`x${String.fromCharCode(c)}y`)
CONTROL.push('x\x7fy', 'x\x80y', 'x\x85y', 'x\x8fy', 'x\x9fy', '\x00', '\x01\x02\x03', 'a\x1b[31mred\x1b[0m', '\x07\x08\x0b\x0c')

const NASTY = {
  empty: ['', ' ', '  ', '\t', '\n', '\r\n', '\n\n\n', ' \t\n '],
  whitespace: [
    ' a', 'a ', ' a ', 'a  b', 'a   b', 'a\tb', 'a\nb', 'a\n\nb', 'a \n b', '   leading', 'trailing   ',
    'trailing\n', 'line one\nline two\n', 'a\u00a0b', '\u00a0', 'a\u3000b', '\u3000', 'a\u2028b', 'a\u2029b',
    'a\u0085b', 'a\u1680b', 'a\u2002\u2003b', 'a\u202fb', 'a\u205fb', 'x\r\ny', 'x\ry', 'x\u000by', 'x\u000cy',
    'word \u3000 word', '\u00a0\u00a0lead',
  ],
  nfkc: [
    'ＡＢＣ１２３', 'ｈｅｌｌｏ　ｗｏｒｌｄ', 'ｱｲｳｴｵ', 'ｶﾞｷﾞｸﾞ', 'ﾊﾟﾋﾟﾌﾟ', 'ﬁnancial ﬂow ﬀ ﬃ ﬄ', '① ② ③ ⑩', '㎏ ㎞ ㎡ ㍻', '½ ¼ ¾ ⅓',
    'Ω K Å', 'ℌ ℑ ℜ ℂ ℕ', '™ ℠ ©', '… ‥', 'ǅ ǈ ǋ', 'ﷺ', '﷽', '𝐀𝐁𝐂 𝔥𝔢𝔩𝔩𝔬 𝟙𝟚𝟛', 'x² y³ H₂O',
    '！？（）［］', '＜s＞', '＜/s＞', '＜mask＞', '＜pad＞ ＜unk＞', 'ﾟ゛゜', 'ＡＢＣ\u0301', '\uff21\u0301',
    'ﬁ\u0301', '①\u0308', 'ℌ\u0301\u0302', 'ｈ\u0308',
  ],
  combining: [
    'cafe\u0301', 'caf\u00e9', 'e\u0301', 'a\u0308\u0301', 'a\u0301\u0302\u0303', 'o\u0308\u0304\u0301\u0323',
    'n\u0303', 'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333',
    'A\u030a', '\u00c5', 'ハ\u309a', 'か\u3099', '\u1100\u1161', '\u1100\u1161\u11a8', '\u110b\u1175\u11ab', 'கொ',
    '\u0bca', 'क्षि', 'ि', '\u0301', '\u0301\u0301a', 'ä\u0301', 'Å\u0301', 'ё\u0308', 'й', '\u0438\u0306',
  ],
  zero_width: [
    'a\u200bb', '\u200b', 'a\u200cb', 'a\u200db', '\u200d', 'a\ufeffb', '\ufeff', 'a\u2060b', 'soft\u00adhyphen',
    'a\u200e', '\u200f\u05e9\u05dc\u05d5\u05dd', 'x\u202ay\u202cz', '\u202eabc\u202c', '\u2066a\u2069', 'a\u2067b\u2068c\u2069',
    'end\u200b', '\u200b\u200b\u200b', 'a\u180eb', 'x\u034fy', 'a\ufe0fb',
  ],
  emoji: [
    '😀', 'I ❤️ you', '❤', '☺︎', '👍🏽', '👨‍👩‍👧‍👦', '🇨🇳', '🇺🇸🇬🇧', '🏳️‍🌈', '1️⃣', '#⃣', '👩🏽‍💻 coding',
    'emoji 👍 test 🇨🇳 done', '🎉🎉🎉', '🙂🙃', 'happy😀sad😢', '🧑‍🤝‍🧑', '🇦', '©️', 'Ⓜ️',
  ],
  code_numbers: [
    '3.14159265358979', '1,234,567.89', '2024-06-01T12:34:56Z', 'def f(x): return x**2',
    'for (int i = 0; i < n; i++) { sum += a[i]; }', 'SELECT * FROM users WHERE id = 42;',
    'https://example.com/path?q=1&r=2#frag', 'user@example.com', 'C:\\Windows\\System32', '{"key": [1, 2, {"a": null}]}',
    '<div class="x">hi</div>', '$HOME/.bashrc && echo ok', '0x7fffffff', '1e-10', 'λx.x', '∀x∈ℝ: x²≥0', '12345678901234567890',
    '٠١٢٣٤٥٦٧٨٩', '१२३', '໐໑', 'v1.2.3-beta+exp.sha.5114f85',
  ],
  long_words: [
    'Donaudampfschifffahrtsgesellschaftskapitän', 'pneumonoultramicroscopicsilicovolcanoconiosis', 'a'.repeat(100),
    'abc'.repeat(50), 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch', '中'.repeat(64), 'x'.repeat(300),
    'supercalifragilisticexpialidocious-antidisestablishmentarianism',
  ],
  ties: [
    'ffffffff', 'ffff', 'fffffffffffffffff', '------', '-----', '--------------------', '!!!!', '!!!!!!!!!!!', '........',
    '========', 'aaaaaaaaaa', 'hahahaha', 'lololol', '1111111111', '2000000000', 'wwwwwww', 'Herrrr', 'zzzzzzzz',
    '0x7fff7fff', '______', '****', '~~~~', '##########', 'ааааааа', 'ーーーー', '哈哈哈哈哈哈', 'ㅋㅋㅋㅋㅋ', '……………',
  ],
  mixed_scripts: [
    'Apple的iPhone很贵', '東京Tokyo도쿄', 'ABC-123-абв', 'Python是一种编程语言', 'COVID-19疫情', 'Ελληνικά and English',
    'שלום hello مرحبا', 'नमस्ते Hello 你好', 'München 慕尼黑 Мюнхен', 'GPT-4o和Claude',
  ],
  unknown: [
    '枢纽', '交通枢纽', '龘靐齉', '𠀀𠀁𠀂', 'ᚠᛇᚻ᛫ᛒᛦᚦ', '𓀀𓀁', 'ᠮᠣᠩᠭᠣᠯ', 'ꦧꦱꦗꦮ', 'ᏣᎳᎩ', '☃♞♜', 'a枢b纽c', '枢 纽',
    '𝄞 music', '\ue000\ue001', '\ufffd', 'ⰀⰁ', '𐌰𐌱𐌲', 'ࠀࠁ', '𑀅𑀆',
  ],
  special_literals: [
    '<s>', '</s>', '<pad>', '<unk>', '<mask>', 'a<s>b', 'a <s> b', 'a </s> b', 'a <pad> b', 'a <unk> b', 'hello <mask> world',
    'hello<mask>world', 'hello   <mask>', '<mask>', ' <mask>', '<mask> ', '\t<mask>', '<s><s>', '</s></s>', '<s >', '< s>',
    '<S>', '<s', 's>', '<unk><unk>', 'text<pad>text', '<s>text</s>', ' <s>', '<s> ', 'x \n<s>', '<\u200bs>', '<<s>>',
    '<mask><mask>', 'a\u3000<mask>', 'word <unk>', '</s> <s>', '<s>\n', '\u00a0<mask>',
  ],
  metaspace_literal: ['▁', '▁▁', 'a▁b', '▁hello', 'hello▁', '▁ ▁', ' ▁', '▁ ', '▁<s>', '__init__', '▁▁▁x'],
  punctuation: [
    'Hello, world!', '"quoted" and \'single\'', '«guillemets» „Anführung“', '¿¡', '—–-', '...', '?!?!', '(a) [b] {c}',
    '。、「」『』', '،؛؟', '·•◦', '@#$%^&*', '``double backticks\'\'',
  ],
  case: ['HELLO WORLD', 'Hello World', 'hello world', 'İIıi', 'ΣΑΣ σας', 'ß ẞ'],
}

const PAIRS = {
  seed: [],
  monolingual: [
    ['what is panda?', 'hi'],
    ['what is panda?', SEED_OTHER[2]],
    ['机器学习是什么?', '机器学习是人工智能的一个分支。'],
    ['東京はどこですか', '東京は日本の首都です。'],
    ['서울은 어디입니까?', '서울은 대한민국의 수도입니다.'],
    ['ما هي عاصمة مصر؟', 'القاهرة هي عاصمة مصر.'],
    ['Где находится Москва?', 'Москва — столица России.'],
    ['Was ist die Hauptstadt?', 'Berlin ist die Hauptstadt Deutschlands.'],
    ['Qu\'est-ce que Paris?', 'Paris est la capitale de la France.'],
    ['ποια είναι η πρωτεύουσα;', 'Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.'],
  ],
  cross_lingual: [
    ['What is the capital of China?', '北京是中国的政治中心和首都。'],
    ['中国的首都是哪里?', 'Beijing is the capital of China.'],
    ['capital of Egypt', 'القاهرة هي عاصمة مصر.'],
    ['日本の首都', 'Tokyo is the capital of Japan.'],
    ['столица Германии', 'Berlin ist die Hauptstadt Deutschlands.'],
  ],
  nasty: [
    ['', 'document'], ['query', ''], ['', ''], [' ', ' '], ['query ', ' document '], ['query\n', 'document\n'],
    ['a <s> b', 'c </s> d'], ['<mask>', '<mask>'], ['😀', '👨‍👩‍👧‍👦'], ['a\u200bb', '\u200b'], ['\x00', 'x\x00y'],
    ['枢纽', '交通枢纽'], ['cafe\u0301', 'caf\u00e9'], ['a'.repeat(100), 'b'.repeat(100)], ['▁', '▁▁'], ['\t', '\n\n'],
  ],
}
for (const q of SEED_QUERIES) for (const p of SEED_PASSAGES) PAIRS.seed.push([q, p])

const LONG_ZH =
  '北京是中华人民共和国的首都，是全国的政治中心、文化中心、国际交往中心和科技创新中心。' +
  '北京历史悠久，文化灿烂，是首批国家历史文化名城和世界上拥有世界文化遗产数最多的城市。' +
  '首都国际机场和大兴国际机场是中国重要的交通枢纽，每年有数千万旅客经过这里。' +
  '人工智能的发展趋势正在改变城市管理、交通调度和公共服务的方式。'

const TRUNC_PAIRS = [
  ['short_short', 'what is panda?', 'hi'],
  ['query_longer', SEED_OTHER[2], 'panda bear'],
  ['document_longer', 'what is panda?', SEED_OTHER[2]],
  ['equal', '北京是中国的首都。', '北京是中国的首都。'],
  ['long_zh', '中国的首都是哪里?', LONG_ZH],
  ['seed', '人工智能的发展趋势', '人工智能正在深刻改变各行各业,大模型是当前的发展趋势。'],
  ['emoji', 'emoji 👍 test 🇨🇳', 'happy😀sad😢 and 👨‍👩‍👧‍👦 families 🎉🎉🎉 everywhere'],
  ['ar_de', 'ما هي عاصمة ألمانيا؟', 'Berlin ist die Hauptstadt Deutschlands und liegt an der Spree.'],
  ['empty_query', '', 'The giant panda is a bear species endemic to China.'],
  ['empty_document', 'what is panda?', ''],
  ['trailing_space', 'query with space ', 'document with newline\n'],
]
const TRUNC_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 24, 32, 64, 512]
const TRUNC_SINGLES = ['The giant panda is a bear species endemic to China.', LONG_ZH, 'emoji 👍 test 🇨🇳 and ffffffff']
const SINGLE_LENGTHS = [0, 1, 2, 3, 4, 5, 8, 16, 512]

// mulberry32: a fixed, tiny PRNG so the corpus sample is the same on every run.
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function build(corpus) {
  const out = []
  const single = (category, text, extra = {}) => out.push({ category, kind: 'single', text, ...extra })
  const pair = (category, query, document, extra = {}) => out.push({ category, kind: 'pair', query, document, ...extra })

  for (const t of [...SEED_QUERIES, ...SEED_PASSAGES, ...SEED_OTHER]) single('seed', t)
  for (const [lang, texts] of Object.entries(LANGUAGES)) for (const t of texts) single(`lang_${lang}`, t)
  for (const [cat, texts] of Object.entries(NASTY)) for (const t of texts) single(cat, t)
  for (const t of CONTROL) single('control', t)

  const next = rng(20240601)
  const picked = new Set()
  while (picked.size < 120) picked.add(Math.floor(next() * corpus.length))
  let i = 0
  for (const idx of [...picked].sort((x, y) => x - y)) {
    // Real passages often end in a newline or a space; the fast tokenizer gives those a token.
    const suffix = i % 6 === 0 ? '\n' : i % 6 === 3 ? ' ' : ''
    single('corpus', corpus[idx] + suffix)
    i++
  }

  for (const [cat, pairs] of Object.entries(PAIRS)) for (const [q, d] of pairs) pair(`pair_${cat}`, q, d)

  for (const [name, q, d] of TRUNC_PAIRS) {
    for (const max_length of TRUNC_LENGTHS) {
      for (const truncation of ['longest_first', 'only_second']) {
        pair(`trunc_${name}`, q, d, { max_length, truncation })
      }
    }
  }
  for (const t of TRUNC_SINGLES) for (const max_length of SINGLE_LENGTHS) single('trunc_single', t, { max_length })

  // One document past the model's 8192 limit, built from corpus lines, cut by longest_first.
  let longDoc = ''
  for (let k = 0; longDoc.length < 40000; k++) longDoc += corpus[(k * 7919) % corpus.length] + '\n'
  pair('trunc_8192', '中国的首都是哪里?', longDoc, { max_length: 8192, truncation: 'longest_first' })
  pair('trunc_8192', longDoc, 'short document', { max_length: 8192, truncation: 'longest_first' })
  single('trunc_8192', longDoc, { max_length: 8192 })
  return out
}

// A recorder of "single" cases into `lines`: the text's ids from `encode`, the first max_length kept when one is given.
function singles(lines, encode) {
  return async (category, text, max_length) => {
    const all = await encode(text)
    const out = { category, kind: 'single', text }
    if (max_length !== undefined) out.max_length = max_length
    out.ids = max_length === undefined ? all : all.slice(0, max_length)
    lines.push(out)
  }
}

module.exports = { build, singles }
