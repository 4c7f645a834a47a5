"""Caption lines like an IGF session's, in the six UN languages, for the search benchmark.

Deterministic for a seed: each line is a template of its language filled with the topics,
actors and places of Internet governance debates, so word frequencies look like a real
transcript's (a few very common words, a long tail), not like random letters.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

TOPICS = {
    "en": ["internet governance", "meaningful connectivity", "artificial intelligence",
           "data protection", "cybersecurity", "digital public infrastructure",
           "community networks", "content moderation", "human rights online",
           "the digital divide", "open source software", "spectrum policy",
           "misinformation", "digital identity", "cross-border data flows",
           "the Global Digital Compact", "child online safety", "submarine cables",
           "cloud computing", "digital literacy", "e-commerce", "quantum computing",
           "platform accountability", "environmental sustainability", "gender equality"],
    "fr": ["la gouvernance de l'internet", "la connectivité significative",
           "l'intelligence artificielle", "la protection des données", "la cybersécurité",
           "les réseaux communautaires", "la modération des contenus", "la fracture numérique",
           "les droits humains en ligne", "les logiciels libres", "la désinformation",
           "l'identité numérique", "le Pacte numérique mondial", "l'éducation numérique"],
    "es": ["la gobernanza de internet", "la conectividad significativa",
           "la inteligencia artificial", "la protección de datos", "la ciberseguridad",
           "las redes comunitarias", "la moderación de contenidos", "la brecha digital",
           "los derechos humanos en línea", "el software libre", "la desinformación",
           "la identidad digital", "el Pacto Digital Global", "la alfabetización digital"],
    "ru": ["управление интернетом", "значимое подключение", "искусственный интеллект",
           "защита данных", "кибербезопасность", "общественные сети", "модерация контента",
           "цифровое неравенство", "права человека в интернете", "открытое программное "
           "обеспечение", "дезинформация", "цифровая идентичность", "Глобальный цифровой "
           "договор", "цифровая грамотность"],
    "ar": ["حوكمة الإنترنت", "الاتصال الهادف", "الذكاء الاصطناعي", "حماية البيانات",
           "الأمن السيبراني", "الشبكات المجتمعية", "الإشراف على المحتوى", "الفجوة الرقمية",
           "حقوق الإنسان على الإنترنت", "البرمجيات مفتوحة المصدر", "المعلومات المضللة",
           "الهوية الرقمية", "الميثاق الرقمي العالمي", "محو الأمية الرقمية"],
    "zh": ["互联网治理", "有意义的连接", "人工智能", "数据保护", "网络安全", "社区网络",
           "内容审核", "数字鸿沟", "网络人权", "开源软件", "虚假信息", "数字身份",
           "全球数字契约", "数字素养"],
}
ACTORS = {
    "en": ["governments", "civil society", "the private sector", "the technical community",
           "young people", "small island states", "regulators", "local communities",
           "parliamentarians", "researchers"],
    "fr": ["les gouvernements", "la société civile", "le secteur privé", "les jeunes",
           "les régulateurs", "les communautés locales", "les parlementaires"],
    "es": ["los gobiernos", "la sociedad civil", "el sector privado", "los jóvenes",
           "los reguladores", "las comunidades locales", "los parlamentarios"],
    "ru": ["правительства", "гражданское общество", "частный сектор", "молодёжь",
           "регуляторы", "местные сообщества", "парламентарии"],
    "ar": ["الحكومات", "المجتمع المدني", "القطاع الخاص", "الشباب", "الجهات التنظيمية",
           "المجتمعات المحلية", "البرلمانيون"],
    "zh": ["各国政府", "民间社会", "私营部门", "青年", "监管机构", "地方社区", "议员"],
}
PLACES = {
    "en": ["Africa", "Latin America", "the Pacific", "rural areas", "South Asia",
           "the Arab region", "Europe", "small towns"],
    "fr": ["l'Afrique", "l'Amérique latine", "les zones rurales", "l'Europe", "le Sahel"],
    "es": ["África", "América Latina", "las zonas rurales", "Europa", "el Caribe"],
    "ru": ["Африке", "Латинской Америке", "сельских районах", "Европе", "Центральной Азии"],
    "ar": ["أفريقيا", "أمريكا اللاتينية", "المناطق الريفية", "أوروبا", "المنطقة العربية"],
    "zh": ["非洲", "拉丁美洲", "农村地区", "欧洲", "亚太地区"],
}
TEMPLATES = {
    "en": ["I think {topic} matters most for {actor} in {place}.",
           "Thank you, chair. On {topic}, {actor} have a role to play.",
           "We heard from {actor} that {topic} is still a challenge in {place}.",
           "Let me come back to {topic} and what it means for {actor}.",
           "In {place}, {topic} has changed how {actor} work together.",
           "My question is about {topic}: how can {actor} be involved?",
           "We need a multistakeholder approach to {topic}.",
           "The next speaker will talk about {topic} in {place}."],
    "fr": ["Je pense que {topic} compte beaucoup pour {actor} en {place}.",
           "Merci, madame la présidente. Sur {topic}, {actor} ont un rôle à jouer.",
           "Nous avons entendu {actor} dire que {topic} reste un défi en {place}.",
           "Il faut une approche multipartite de {topic}."],
    "es": ["Creo que {topic} importa mucho para {actor} en {place}.",
           "Gracias, presidenta. Sobre {topic}, {actor} tienen un papel que desempeñar.",
           "Escuchamos a {actor} decir que {topic} sigue siendo un reto en {place}.",
           "Necesitamos un enfoque de múltiples partes interesadas para {topic}."],
    "ru": ["Я считаю, что {topic} очень важно для {actor} в {place}.",
           "Спасибо, председатель. В вопросе {topic} {actor} играют свою роль.",  # noqa: RUF001
           "Мы услышали, что {topic} остаётся проблемой в {place}.",
           "Нам нужен многосторонний подход к теме: {topic}."],
    "ar": ["أعتقد أن {topic} مهم جدا بالنسبة إلى {actor} في {place}.",
           "شكرا سيدتي الرئيسة. في مسألة {topic} يؤدي {actor} دورا مهما.",
           "سمعنا من {actor} أن {topic} لا يزال تحديا في {place}.",
           "نحتاج إلى نهج متعدد أصحاب المصلحة في {topic}."],
    "zh": ["我认为{topic}对{place}的{actor}非常重要。",
           "谢谢主席。关于{topic}，{actor}可以发挥作用。",  # noqa: RUF001
           "我们听到{actor}说，{topic}在{place}仍然是一个挑战。",  # noqa: RUF001
           "我们需要以多利益攸关方的方式处理{topic}。"],
}
# The share of lines per language: interpretation makes every language common.
LANGUAGES = ["en"] * 40 + ["fr"] * 12 + ["es"] * 12 + ["ru"] * 12 + ["ar"] * 12 + ["zh"] * 12


def line(rng: random.Random, lang: str) -> str:
    template = rng.choice(TEMPLATES[lang])
    return template.format(topic=rng.choice(TOPICS[lang]), actor=rng.choice(ACTORS[lang]),
                           place=rng.choice(PLACES[lang]))


def lines(rng: random.Random, count: int) -> Iterator[tuple[str, str]]:
    """`count` (lang, text) caption lines."""
    for _ in range(count):
        lang = rng.choice(LANGUAGES)
        yield lang, line(rng, lang)
