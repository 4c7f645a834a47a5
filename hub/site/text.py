# ruff: noqa: RUF001  (texts in Arabic, Chinese and Russian: their letters and punctuation)
"""Every text of the public event site, in the hub's six languages, and the reader's choice.

The language is `?lang=` when it names one of them, else the best of the reader's
Accept-Language, else the event's first language, else English. Dates are written the
way each language writes them (no locale data needed: the names are here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .search_text import SEARCH_TEXTS

LANGUAGES = ("en", "fr", "es", "ar", "zh", "ru")
RTL = frozenset({"ar"})
# The languages' own names (the switcher shows each in itself) and their HTML tags.
NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية",
         "zh": "中文（简体）", "ru": "Русский"}
TAGS = {"en": "en", "fr": "fr", "es": "es", "ar": "ar", "zh": "zh-Hans", "ru": "ru"}
MAX_ACCEPT = 512  # characters of Accept-Language read: a longer header is someone's game

_EN = {
    "skip": "Skip to the main content",
    "languages": "Language",
    "event_nav": "Event",
    "programme": "Programme",
    "highlights": "Highlights",
    "dates": "Dates",
    "venue": "Venue",
    "zone_note": "Times are in the event's time zone ({zone}), with UTC in brackets.",
    "live_now": "Live now",
    "live_note": "Sessions whose scheduled time is now, and sessions running on this hub.",
    "nothing_live": "No session is live right now.",
    "filters": "Filter the programme",
    "room": "Room",
    "track": "Track",
    "all_rooms": "All rooms",
    "all_tracks": "All tracks",
    "showing": "Sessions shown: {shown} of {total}.",
    "days": "Days",
    "no_sessions_day": "No session on this day.",
    "no_programme": "The programme has not been published yet.",
    "time": "Time",
    "kind": "Type",
    "organizers": "Organizers",
    "session_languages": "Languages",
    "state": "State",
    "scheduled": "Scheduled",
    "live": "Live",
    "closed": "Closed",
    "report_published": "Report published",
    "about": "About this session",
    "join": "Take part",
    "join_help": "Follow and take part remotely on the participant page: captions, "
                 "questions and the speaking queue.",
    "join_link": "Join this session",
    "report": "Report",
    "no_report": "The organizers have not published this session's report yet.",
    "summary": "Summary",
    "takeaways": "Key takeaways",
    "calls": "Calls to action",
    "gender": "Gender",
    "participants": "Estimated number of participants",
    "women": "Estimated number of women and gender-diverse people",
    "discussed": "Were gender issues discussed?",
    "how": "How",
    "yes": "Yes",
    "no": "No",
    "not_answered": "Not answered",
    "transcript": "Transcript",
    "no_transcript": "This session has no transcript.",
    "back": "Back to the programme",
    "not_found": "Page not found",
    "no_event": "There is no event with this address.",
    "no_session": "This event has no session with this address.",
    "no_filter": "This event has no such room or track.",
    "home": "The event's programme",
    "your_time": "Your time",
    "utc": "UTC",
    "date": "{weekday} {day} {month} {year}",
    "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "months": "January February March April May June July August September October "
              "November December",
    # the highlights (hub.domain.highlights.LABELS)
    "hl_title": "Main point highlights",
    "hl_intro": "Key takeaways and calls to action from the published reports of the "
                "event's sessions, by track.",
    "hl_published_of": "Sessions with a published report: {published} of {total}",
    "hl_counts": "Key takeaways: {takeaways}; calls to action: {calls}",
    "hl_no_track": "Other sessions",
    "hl_none_yet": "No session of this track has a published report yet.",
    "hl_nothing": "No report is published yet: the highlights grow as sessions publish "
                  "theirs.",
    "hl_from": "from",
}

_FR = {
    "skip": "Aller au contenu principal",
    "languages": "Langue",
    "event_nav": "Événement",
    "programme": "Programme",
    "highlights": "Points saillants",
    "dates": "Dates",
    "venue": "Lieu",
    "zone_note": "Les heures sont celles du fuseau horaire de l'événement ({zone}), avec "
                 "l'heure UTC entre parenthèses.",
    "live_now": "En direct",
    "live_note": "Les sessions prévues à cette heure-ci et celles en cours sur ce hub.",
    "nothing_live": "Aucune session n'est en direct pour le moment.",
    "filters": "Filtrer le programme",
    "room": "Salle",
    "track": "Thème",
    "all_rooms": "Toutes les salles",
    "all_tracks": "Tous les thèmes",
    "showing": "Sessions affichées : {shown} sur {total}.",
    "days": "Jours",
    "no_sessions_day": "Aucune session ce jour-là.",
    "no_programme": "Le programme n'a pas encore été publié.",
    "time": "Heure",
    "kind": "Type",
    "organizers": "Organisateurs",
    "session_languages": "Langues",
    "state": "État",
    "scheduled": "Prévue",
    "live": "En direct",
    "closed": "Terminée",
    "report_published": "Rapport publié",
    "about": "À propos de cette session",
    "join": "Participer",
    "join_help": "Suivez la session et participez à distance sur la page des participants : "
                 "sous-titres, questions et file des orateurs.",
    "join_link": "Rejoindre cette session",
    "report": "Rapport",
    "no_report": "Les organisateurs n'ont pas encore publié le rapport de cette session.",
    "summary": "Résumé",
    "takeaways": "Principaux enseignements",
    "calls": "Appels à l'action",
    "gender": "Genre",
    "participants": "Nombre estimé de participants",
    "women": "Nombre estimé de femmes et de personnes de genre divers",
    "discussed": "Les questions de genre ont-elles été abordées ?",
    "how": "Comment",
    "yes": "Oui",
    "no": "Non",
    "not_answered": "Sans réponse",
    "transcript": "Transcription",
    "no_transcript": "Cette session n'a pas de transcription.",
    "back": "Retour au programme",
    "not_found": "Page introuvable",
    "no_event": "Il n'y a pas d'événement à cette adresse.",
    "no_session": "Cet événement n'a pas de session à cette adresse.",
    "no_filter": "Cet événement n'a pas cette salle ou ce thème.",
    "home": "Le programme de l'événement",
    "your_time": "Votre heure",
    "utc": "UTC",
    "date": "{weekday} {day} {month} {year}",
    "weekdays": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "months": "janvier février mars avril mai juin juillet août septembre octobre "
              "novembre décembre",
    "hl_title": "Points saillants",
    "hl_intro": "Les principaux enseignements et appels à l'action des rapports publiés "
                "des sessions de l'événement, par thème.",
    "hl_published_of": "Sessions ayant publié leur rapport : {published} sur {total}",
    "hl_counts": "Principaux enseignements : {takeaways} ; appels à l'action : {calls}",
    "hl_no_track": "Autres sessions",
    "hl_none_yet": "Aucune session de ce thème n'a encore publié son rapport.",
    "hl_nothing": "Aucun rapport n'est encore publié : les points saillants s'enrichissent "
                  "à mesure que les sessions publient le leur.",
    "hl_from": "de",
}

_ES = {
    "skip": "Ir al contenido principal",
    "languages": "Idioma",
    "event_nav": "Evento",
    "programme": "Programa",
    "highlights": "Aspectos destacados",
    "dates": "Fechas",
    "venue": "Lugar",
    "zone_note": "Las horas están en la zona horaria del evento ({zone}), con la hora UTC "
                 "entre paréntesis.",
    "live_now": "En directo",
    "live_note": "Las sesiones programadas para esta hora y las que están en curso en "
                 "este hub.",
    "nothing_live": "No hay ninguna sesión en directo en este momento.",
    "filters": "Filtrar el programa",
    "room": "Sala",
    "track": "Tema",
    "all_rooms": "Todas las salas",
    "all_tracks": "Todos los temas",
    "showing": "Sesiones mostradas: {shown} de {total}.",
    "days": "Días",
    "no_sessions_day": "No hay sesiones este día.",
    "no_programme": "El programa aún no se ha publicado.",
    "time": "Hora",
    "kind": "Tipo",
    "organizers": "Organizadores",
    "session_languages": "Idiomas",
    "state": "Estado",
    "scheduled": "Programada",
    "live": "En directo",
    "closed": "Finalizada",
    "report_published": "Informe publicado",
    "about": "Acerca de esta sesión",
    "join": "Participar",
    "join_help": "Siga la sesión y participe a distancia en la página de participantes: "
                 "subtítulos, preguntas y turno de palabra.",
    "join_link": "Unirse a esta sesión",
    "report": "Informe",
    "no_report": "Los organizadores aún no han publicado el informe de esta sesión.",
    "summary": "Resumen",
    "takeaways": "Conclusiones clave",
    "calls": "Llamados a la acción",
    "gender": "Género",
    "participants": "Número estimado de participantes",
    "women": "Número estimado de mujeres y personas de género diverso",
    "discussed": "¿Se trataron cuestiones de género?",
    "how": "Cómo",
    "yes": "Sí",
    "no": "No",
    "not_answered": "Sin respuesta",
    "transcript": "Transcripción",
    "no_transcript": "Esta sesión no tiene transcripción.",
    "back": "Volver al programa",
    "not_found": "Página no encontrada",
    "no_event": "No hay ningún evento en esta dirección.",
    "no_session": "Este evento no tiene ninguna sesión en esta dirección.",
    "no_filter": "Este evento no tiene esa sala o ese tema.",
    "home": "El programa del evento",
    "your_time": "Su hora",
    "utc": "UTC",
    "date": "{weekday} {day} de {month} de {year}",
    "weekdays": "lunes martes miércoles jueves viernes sábado domingo",
    "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre "
              "noviembre diciembre",
    "hl_title": "Aspectos destacados",
    "hl_intro": "Las conclusiones clave y los llamados a la acción de los informes "
                "publicados de las sesiones del evento, por tema.",
    "hl_published_of": "Sesiones con informe publicado: {published} de {total}",
    "hl_counts": "Conclusiones clave: {takeaways}; llamados a la acción: {calls}",
    "hl_no_track": "Otras sesiones",
    "hl_none_yet": "Ninguna sesión de este tema ha publicado aún su informe.",
    "hl_nothing": "Aún no hay informes publicados: los aspectos destacados crecen a medida "
                  "que las sesiones publican los suyos.",
    "hl_from": "de",
}

_AR = {
    "skip": "انتقل إلى المحتوى الرئيسي",
    "languages": "اللغة",
    "event_nav": "الحدث",
    "programme": "البرنامج",
    "highlights": "أبرز النقاط",
    "dates": "التواريخ",
    "venue": "المكان",
    "zone_note": "الأوقات بتوقيت المنطقة الزمنية للحدث ({zone})، مع التوقيت العالمي "
                 "المنسق بين قوسين.",
    "live_now": "مباشر الآن",
    "live_note": "الجلسات المقررة في هذا الوقت، والجلسات الجارية على هذا المركز.",
    "nothing_live": "لا توجد جلسة مباشرة الآن.",
    "filters": "تصفية البرنامج",
    "room": "القاعة",
    "track": "المحور",
    "all_rooms": "كل القاعات",
    "all_tracks": "كل المحاور",
    "showing": "الجلسات المعروضة: {shown} من أصل {total}.",
    "days": "الأيام",
    "no_sessions_day": "لا توجد جلسات في هذا اليوم.",
    "no_programme": "لم يُنشر البرنامج بعد.",
    "time": "الوقت",
    "kind": "النوع",
    "organizers": "المنظمون",
    "session_languages": "اللغات",
    "state": "الحالة",
    "scheduled": "مقررة",
    "live": "مباشرة",
    "closed": "انتهت",
    "report_published": "نُشر التقرير",
    "about": "عن هذه الجلسة",
    "join": "شارك",
    "join_help": "تابع الجلسة وشارك عن بُعد من صفحة المشاركين: الترجمة النصية والأسئلة "
                 "وقائمة طلبات الكلمة.",
    "join_link": "انضم إلى هذه الجلسة",
    "report": "التقرير",
    "no_report": "لم ينشر المنظمون تقرير هذه الجلسة بعد.",
    "summary": "الملخص",
    "takeaways": "أهم الاستنتاجات",
    "calls": "الدعوات إلى العمل",
    "gender": "النوع الاجتماعي",
    "participants": "العدد التقديري للمشاركين",
    "women": "العدد التقديري للنساء والأشخاص من هويات جندرية متنوعة",
    "discussed": "هل نوقشت قضايا النوع الاجتماعي؟",
    "how": "كيف",
    "yes": "نعم",
    "no": "لا",
    "not_answered": "لم تتم الإجابة",
    "transcript": "النص المكتوب",
    "no_transcript": "لا يوجد نص مكتوب لهذه الجلسة.",
    "back": "العودة إلى البرنامج",
    "not_found": "الصفحة غير موجودة",
    "no_event": "لا يوجد حدث بهذا العنوان.",
    "no_session": "لا توجد في هذا الحدث جلسة بهذا العنوان.",
    "no_filter": "لا توجد في هذا الحدث هذه القاعة أو هذا المحور.",
    "home": "برنامج الحدث",
    "your_time": "توقيتك",
    "utc": "التوقيت العالمي",
    "date": "{weekday} {day} {month} {year}",
    "weekdays": "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد",
    "months": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "hl_title": "أبرز النقاط",
    "hl_intro": "أهم الاستنتاجات والدعوات إلى العمل من التقارير المنشورة لجلسات الحدث، "
                "حسب المحور.",
    "hl_published_of": "الجلسات التي نشرت تقريرها: {published} من أصل {total}",
    "hl_counts": "أهم الاستنتاجات: {takeaways}؛ الدعوات إلى العمل: {calls}",
    "hl_no_track": "جلسات أخرى",
    "hl_none_yet": "لم تنشر أي جلسة من هذا المحور تقريرها بعد.",
    "hl_nothing": "لم يُنشر أي تقرير بعد: تزداد أبرز النقاط كلما نشرت الجلسات تقاريرها.",
    "hl_from": "من",
}

_ZH = {
    "skip": "跳到主要内容",
    "languages": "语言",
    "event_nav": "活动",
    "programme": "日程",
    "highlights": "要点",
    "dates": "日期",
    "venue": "地点",
    "zone_note": "时间为活动所在时区（{zone}）的时间，括号内为协调世界时（UTC）。",
    "live_now": "正在直播",
    "live_note": "按日程此刻进行的会议，以及本平台上正在进行的会议。",
    "nothing_live": "目前没有正在直播的会议。",
    "filters": "筛选日程",
    "room": "会议室",
    "track": "主题",
    "all_rooms": "所有会议室",
    "all_tracks": "所有主题",
    "showing": "显示 {shown} 场会议，共 {total} 场。",
    "days": "日期",
    "no_sessions_day": "当天没有会议。",
    "no_programme": "日程尚未发布。",
    "time": "时间",
    "kind": "类型",
    "organizers": "组织者",
    "session_languages": "语言",
    "state": "状态",
    "scheduled": "已排期",
    "live": "直播中",
    "closed": "已结束",
    "report_published": "报告已发布",
    "about": "关于本场会议",
    "join": "参与",
    "join_help": "在参与者页面远程关注并参与：字幕、提问和发言排队。",
    "join_link": "加入本场会议",
    "report": "报告",
    "no_report": "组织者尚未发布本场会议的报告。",
    "summary": "摘要",
    "takeaways": "主要结论",
    "calls": "行动呼吁",
    "gender": "性别",
    "participants": "估计参与人数",
    "women": "估计女性及性别多元人士人数",
    "discussed": "是否讨论了性别问题？",
    "how": "如何讨论",
    "yes": "是",
    "no": "否",
    "not_answered": "未回答",
    "transcript": "文字记录",
    "no_transcript": "本场会议没有文字记录。",
    "back": "返回日程",
    "not_found": "找不到页面",
    "no_event": "此地址没有对应的活动。",
    "no_session": "本活动在此地址没有对应的会议。",
    "no_filter": "本活动没有该会议室或主题。",
    "home": "活动日程",
    "your_time": "您的时间",
    "utc": "UTC",
    "date": "{year}年{month_number}月{day}日 {weekday}",
    "weekdays": "星期一 星期二 星期三 星期四 星期五 星期六 星期日",
    "months": "一月 二月 三月 四月 五月 六月 七月 八月 九月 十月 十一月 十二月",
    "hl_title": "要点",
    "hl_intro": "按主题汇总的活动各场会议已发布报告中的主要结论和行动呼吁。",
    "hl_published_of": "已发布报告的会议：{published} / {total}",
    "hl_counts": "主要结论：{takeaways}；行动呼吁：{calls}",
    "hl_no_track": "其他会议",
    "hl_none_yet": "该主题尚无会议发布报告。",
    "hl_nothing": "尚未发布任何报告：随着各场会议发布报告，要点将不断增加。",
    "hl_from": "出自",
}

_RU = {
    "skip": "Перейти к основному содержанию",
    "languages": "Язык",
    "event_nav": "Мероприятие",
    "programme": "Программа",
    "highlights": "Основные итоги",
    "dates": "Даты",
    "venue": "Место проведения",
    "zone_note": "Время указано в часовом поясе мероприятия ({zone}), в скобках — по UTC.",
    "live_now": "Сейчас в эфире",
    "live_note": "Сессии, которые идут сейчас по программе, и сессии, идущие на этом хабе.",
    "nothing_live": "Сейчас нет сессий в эфире.",
    "filters": "Фильтр программы",
    "room": "Зал",
    "track": "Тема",
    "all_rooms": "Все залы",
    "all_tracks": "Все темы",
    "showing": "Показано сессий: {shown} из {total}.",
    "days": "Дни",
    "no_sessions_day": "В этот день сессий нет.",
    "no_programme": "Программа ещё не опубликована.",
    "time": "Время",
    "kind": "Формат",
    "organizers": "Организаторы",
    "session_languages": "Языки",
    "state": "Статус",
    "scheduled": "Запланирована",
    "live": "В эфире",
    "closed": "Завершена",
    "report_published": "Отчёт опубликован",
    "about": "Об этой сессии",
    "join": "Участие",
    "join_help": "Следите за сессией и участвуйте удалённо на странице участника: "
                 "субтитры, вопросы и очередь выступающих.",
    "join_link": "Присоединиться к сессии",
    "report": "Отчёт",
    "no_report": "Организаторы ещё не опубликовали отчёт этой сессии.",
    "summary": "Краткое содержание",
    "takeaways": "Ключевые выводы",
    "calls": "Призывы к действию",
    "gender": "Гендер",
    "participants": "Примерное число участников",
    "women": "Примерное число женщин и гендерно разнообразных людей",
    "discussed": "Обсуждались ли гендерные вопросы?",
    "how": "Как",
    "yes": "Да",
    "no": "Нет",
    "not_answered": "Нет ответа",
    "transcript": "Стенограмма",
    "no_transcript": "У этой сессии нет стенограммы.",
    "back": "Вернуться к программе",
    "not_found": "Страница не найдена",
    "no_event": "По этому адресу нет мероприятия.",
    "no_session": "У этого мероприятия нет сессии по этому адресу.",
    "no_filter": "У этого мероприятия нет такого зала или темы.",
    "home": "Программа мероприятия",
    "your_time": "Ваше время",
    "utc": "UTC",
    "date": "{weekday}, {day} {month} {year} г.",
    "weekdays": "понедельник вторник среда четверг пятница суббота воскресенье",
    "months": "января февраля марта апреля мая июня июля августа сентября октября "
              "ноября декабря",
    "hl_title": "Основные итоги",
    "hl_intro": "Ключевые выводы и призывы к действию из опубликованных отчётов сессий "
                "мероприятия, по темам.",
    "hl_published_of": "Сессии с опубликованным отчётом: {published} из {total}",
    "hl_counts": "Ключевые выводы: {takeaways}; призывы к действию: {calls}",
    "hl_no_track": "Другие сессии",
    "hl_none_yet": "Ни одна сессия этой темы ещё не опубликовала отчёт.",
    "hl_nothing": "Отчёты ещё не опубликованы: итоги пополняются по мере публикации "
                  "отчётов сессий.",
    "hl_from": "из сессии",
}

TEXTS: dict[str, dict[str, str]] = {
    code: {**texts, **SEARCH_TEXTS[code]}  # the search page's and the offline archive's
    for code, texts in {"en": _EN, "fr": _FR, "es": _ES, "ar": _AR, "zh": _ZH,
                        "ru": _RU}.items()}


@dataclass(frozen=True, slots=True)
class Words:
    """The texts of one language, and how it writes dates."""

    lang: str

    @property
    def tag(self) -> str:
        return TAGS[self.lang]

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def __getitem__(self, key: str) -> str:
        return TEXTS[self.lang][key]

    def format(self, key: str, **values: object) -> str:
        return TEXTS[self.lang][key].format(**values)

    def day(self, iso: str) -> str:
        """A day as this language writes it: `Monday 3 November 2026`."""
        day = date.fromisoformat(iso)
        texts = TEXTS[self.lang]
        return texts["date"].format(
            weekday=texts["weekdays"].split()[day.weekday()], day=day.day,
            month=texts["months"].split()[day.month - 1], month_number=day.month,
            year=day.year)

    def highlights(self) -> dict[str, str]:
        """The labels of hub.domain.highlights in this language."""
        texts = TEXTS[self.lang]
        out = {k.removeprefix("hl_"): v for k, v in texts.items() if k.startswith("hl_")}
        return {**out, "takeaways": texts["takeaways"], "calls": texts["calls"]}


def _primary(tag: str) -> str:
    return tag.strip().split("-")[0].split("_")[0].lower()


def accepted(header: str) -> list[str]:
    """The site's languages in Accept-Language, best first (q=0 refused, bad parts
    skipped)."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header[:MAX_ACCEPT].split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        lang = _primary(tag)
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, n, lang))
    return [lang for _, _, lang in sorted(ranked)]


def choose(query: str | None, accept: str | None, event_languages: list[str]) -> str:
    """The page's language: ?lang=, else Accept-Language, else the event's first, else en."""
    if query and _primary(query) in LANGUAGES:
        return _primary(query)
    best = accepted(accept or "")
    if best:
        return best[0]
    if event_languages and _primary(event_languages[0]) in LANGUAGES:
        return _primary(event_languages[0])
    return "en"


def language_name(code: str) -> str:
    """A session language's own name (one of the six), else its code as given."""
    return NAMES.get(_primary(code), code)
