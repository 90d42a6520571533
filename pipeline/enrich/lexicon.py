"""Word lists shared by the entity and quote steps of enrichment.

Every list is our own, written for English news; each says what it is for. They live here, not in
:mod:`pipeline.enrich.entities` or :mod:`pipeline.enrich.quotes`, so that both steps read them
without importing each other (the quote step needs the person nouns, the entity step the speech
verbs). Entries are lower case and, for abbreviations, without their trailing period.
"""
from __future__ import annotations

#: Words dropped from the front of a person's name (lower case, without a trailing period).
#: Honorifics and offices common in English news; our own list.
PERSON_TITLES = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend fr father sister brother
    gov governor lt lieutenant sen senator rep representative congressman congresswoman
    president vice pres premier prime minister chancellor mayor deputy secretary
    gen general col colonel maj major capt captain sgt sergeant cmdr commander adm admiral
    judge justice chief inspector detective det supt superintendent officer constable
    king queen prince princess sheikh pope bishop archbishop cardinal rabbi imam
    coach mp mep amb ambassador attorney former late st saint head leader spokesman
    spokeswoman spokesperson minister foreign interior defence defense home state treasurer
    taoiseach tanaiste speaker commissioner ombudsman marshal sheriff councillor councilman
    councilwoman alderman assemblyman assemblywoman director chairman chairwoman chair ceo cfo
    coo acting finance health education justice economy trade energy environment agriculture
    transport labour labor culture treasury opposition party emir ayatollah crown baroness
    baron earl duke duchess grand dean principal elder pastor
    pc pcso dc ds di dci cst const insp cpl corporal pte brig sgt-maj
    """.split()
)

#: Office words that never end a person's name ("Cook County Clerk").
OFFICE_WORDS = frozenset(
    "clerk administrator secretary minister president spokesman spokeswoman spokesperson director "
    "chairman chairwoman commissioner governor mayor officer official treasurer chancellor premier".split()
)

#: Words that tell a person's gender when they precede or describe the name (titles, gendered
#: role nouns). Used only to keep "she said" off a man and "he said" off a woman. Our own list.
FEMALE_WORDS = frozenset(
    "mrs ms miss dame lady queen princess duchess baroness madam madame sister mother wife daughter "
    "woman girl spokeswoman chairwoman congresswoman businesswoman actress sportswoman grandmother "
    "aunt niece widow countess empress".split()
)
MALE_WORDS = frozenset(
    "mr sir lord king prince duke baron brother father husband son man boy spokesman chairman "
    "congressman businessman actor sportsman grandfather uncle nephew widower count emperor".split()
)

#: Honorifics that make the following capitalised words a person even when NER says ORG/GPE.
HONORIFICS = frozenset("mr mrs ms dr sen gov rep prof sir dame".split())

#: Nouns that name a person's role; a role tied to a name lets "the minister said" resolve.
#: Our own list of common English news roles.
ROLE_NOUNS = frozenset(
    """
    minister secretary president vice-president premier chancellor ambassador envoy diplomat
    spokesman spokeswoman spokesperson governor senator congressman congresswoman lawmaker
    legislator mayor leader chief director chairman chairwoman chair ceo executive founder
    official officer commander general admiral coordinator counterpart head king queen prince
    princess monarch judge justice prosecutor attorney lawyer coach manager captain striker
    midfielder defender goalkeeper player star candidate nominee activist organizer organiser
    campaigner advocate economist analyst researcher scientist professor doctor surgeon
    president-elect chancellor-elect secretary-general commissioner inspector sheriff
    detective superintendent constable bishop archbishop cardinal pope rabbi imam priest
    actor actress singer author writer journalist reporter editor owner boss businessman
    businesswoman billionaire tycoon founder investor banker trader dictator ruler emir
    sultan sheikh mp mep representative delegate negotiator adviser advisor aide deputy
    """.split()
)

#: Nouns for people. A name right after one ("spokeswoman Carlotta Bellini", "the Belgian Jens
#: Vermeulen") or in apposition to one ("a Red Cross worker, Aminata Diallo,") is a person even
#: when NER says ORG or nothing; with "a"/"an" as a subject one introduces someone unnamed.
PERSON_NOUNS = ROLE_NOUNS | frozenset(
    """
    man woman boy girl person nurse witness resident neighbour neighbor survivor victim mother
    father son daughter wife husband friend relative student teacher worker employee farmer
    driver passenger shopkeeper fisherman soldier source insider protester voter fan volunteer
    observer expert strategist rider cyclist athlete runner swimmer winner champion
    midwife paramedic firefighter pilot sailor migrant refugee farmworker labourer laborer
    administrator clerk registrar auditor controller comptroller trustee warden ranger
    forecaster meteorologist quarterback linebacker receiver pitcher batter bowler teammate rookie
    veteran organizer bricklayer mechanic electrician plumber carpenter cook chef waiter vendor
    trucker rancher miner nun monk owner shopowner homeowner landlord tenant retiree pensioner
    """.split()
)

#: Plural nouns for people working at an organization: "analysts at Berenberg" names an
#: organization, not a person.
STAFF_NOUNS = frozenset("analyst economist expert strategist researcher official observer banker trader".split())

#: First or last words of event names, which are not organizations ("Tour de France").
EVENT_WORDS = frozenset("vuelta giro tour cup open championship championships games olympics marathon prix festival summit derby rally grand-prix world-cup".split())

#: Roles in a sports club or company: "Liverpool manager Arne Slot" makes "Liverpool" the club,
#: even where the geoparser found the city.
CLUB_ROLE_NOUNS = frozenset("manager coach striker midfielder defender goalkeeper captain winger forward chairman owner".split())

#: Nouns for businesses and bodies: a name right after one ("parts maker Kessler Antriebstechnik",
#: "the broadcaster Sky") is an organization even when NER says PERSON. Our own list.
COMPANY_CUE_NOUNS = frozenset(
    "maker company firm group carmaker automaker retailer startup start-up lender insurer supplier "
    "manufacturer producer chain operator developer brand broadcaster publisher airline miner bank "
    "charity agency ngo outlet newspaper network club team party union conglomerate subsidiary".split()
)

#: Nouns after which a name is a vessel, aircraft or weapon, not an organization.
VESSEL_NOUNS = frozenset("ship vessel boat tanker freighter frigate carrier ferry yacht trawler aircraft plane jet missile rocket".split())

#: First words of place names that NER tags as persons or organizations ("Lake Malawi").
PLACE_PREFIXES = frozenset("lake mount mt river gulf cape bay port fort sierra isla isle island islands san santa sao".split())

#: Last words of place names that NER tags as persons or organizations ("DuPage County").
PLACE_SUFFIXES = frozenset("county state province region district parish municipality island islands valley river lake mountains highway road street avenue bridge canal peninsula".split())

#: Last words of street and square names, never organizations.
STREET_WORDS = frozenset("boulevard blvd avenue ave street st road rd drive lane square plaza highway freeway".split())

#: Nouns that make "the <noun> of X" a place ("the island of El Hierro").
PLACE_NOUNS = frozenset("island islands city town village province state region county district port municipality capital suburb area valley coast".split())

#: Demonyms and nationality words that spaCy sometimes tags as PERSON or ORG. Our own list
#: (plus any word the same document tags as NORP).
DEMONYMS = frozenset(
    """
    american americans mexican mexicans guatemalan guatemalans honduran hondurans salvadoran
    salvadoran salvadorans nicaraguan panamanian cuban haitian dominican colombian
    venezuelan ecuadorian peruvian brazilian argentine argentinian chilean bolivian uruguayan
    paraguayan canadian british english scottish welsh irish french german italian spanish
    portuguese dutch belgian swiss austrian swedish norwegian danish finnish polish czech slovak
    hungarian romanian bulgarian greek turkish russian ukrainian belarusian serbian croatian
    bosnian albanian syrian iraqi iranian israeli palestinian lebanese jordanian saudi emirati
    qatari kuwaiti yemeni omani egyptian libyan tunisian algerian moroccan sudanese ethiopian
    eritrean somali kenyan ugandan tanzanian rwandan nigerian ghanaian senegalese malian
    congolese angolan zambian zimbabwean afghan pakistani indian bangladeshi
    nepalese burmese thai vietnamese cambodian laotian malaysian singaporean
    indonesian filipino chinese japanese korean taiwanese mongolian australian kiwi european
    african asian latino latina hispanic arab arabs muslim muslims christian christians jewish
    catholic protestant sunni shia shiite kurdish kurd kurds rohingya
    """.split()
)

#: Lines of page furniture that spaCy tags as names ("Related Story"); our own list.
BOILERPLATE_WORDS = frozenset(
    "related story stories read more advertisement advert share tweet email print photo photos "
    "image video watch listen subscribe newsletter copyright getty images sign up "
    "follow us comments comment click here".split()
)

#: Function words skipped when forming an organization's initials ("Bank of England" -> BOE/BE).
ORG_FUNCTION_WORDS = frozenset("of the and for de del la le des du da di in on at to & y et".split())

#: Generic words that alone never name an organization when they are a short form.
GENERIC_ORG_WORDS = frozenset(
    """
    ministry department party bank company group office agency council committee commission
    court university college school hospital army navy police force forces union association
    federation institute foundation corporation corp inc ltd plc co news times post radio tv
    government authority board service services center centre national international
    """.split()
)

#: Last words that make a "name" an organization (spaCy's small model tags "Manchester United"
#: as PERSON). Our own list.
ORG_SUFFIXES = frozenset(
    """
    hospital clinic school academy airport stadium station prison centre center institute
    united fc afc city rovers wanderers athletic albion hotspur rangers celtic inc corp corporation
    ltd llc plc co group bank party association institute university college airlines airways
    motors holdings partners capital technologies systems news times post agency ministry
    council committee foundation fund union club league federation network patrol guard force
    forces service police command department office authority commission board brigade corps
    daily wire herald tribune journal gazette courier chronicle radio tv magazine press weekly
    """.split()
)

#: First words that make a name an organization, including Spanish and Portuguese ones common in
#: Latin American news ("Albergue Esperanza", "Salud del Valle"). Our own list.
ORG_PREFIXES = frozenset(
    """
    albergue casa salud clinica clínica colegio universidad instituto fundacion fundación
    asociacion asociación comision comisión secretaria secretaría ministerio centro movimiento
    hospital banco grupo partido sindicato consejo red cruz
    """.split()
)

#: Head nouns of institutions: a name in apposition to one is an organization ("the agency,
#: Senapred,"), and "the navy said" credits a quote to an organization. Our own list.
INSTITUTION_NOUNS = frozenset(
    """
    navy army police military government ministry department agency office court council
    committee commission embassy company firm bank authority authorities administration
    union party campaign team club organisation organization service carmaker airline
    broadcaster newspaper network group charity regulator watchdog insurer lender retailer
    manufacturer producer utility university hospital force forces guard
    """.split()
)

#: Abbreviated legal forms that end a company's registered name ("Inc.", "Ltd", "GmbH"); a
#: sample of the entity legal forms of ISO 20275 (GLEIF's ELF code list) common in English news.
LEGAL_FORM_SUFFIXES = frozenset("inc corp corporation co ltd llc llp lp plc gmbh ag sa nv bv spa ab asa oyj pty".split())

#: Platforms and services that spaCy's small model often tags as PERSON; they are organizations.
KNOWN_PLATFORMS = frozenset("twitter facebook instagram youtube tiktok whatsapp telegram snapchat linkedin reddit google".split())

#: Name particles allowed in lower case inside a person's name ("Ursula von der Leyen").
NAME_PARTICLES = frozenset("de del della der den di da dos das du la le van von bin bint al el y ter ten".split())

#: Demonyms of more than one word.
DEMONYM_PHRASES = frozenset(
    """central american|central americans|south african|south africans|sri lankan|sri lankans|
    costa rican|costa ricans|new zealander|new zealanders|latin american|latin americans|
    north korean|north koreans|south korean|south koreans|puerto rican|puerto ricans|
    saudi arabian|west african|east african|north african|middle eastern""".replace("\n", "").split("|")
)

#: Policy areas that stand before "Minister"/"Secretary" in an office ("Labour Minister") and so
#: are in :data:`PERSON_TITLES`; alone, capitalised, they name a party or a department ("Labour",
#: "Treasury"), never a person's title.
DEPARTMENT_WORDS = frozenset(
    "foreign interior defence defense finance health education justice economy trade energy "
    "environment agriculture transport labour labor culture treasury opposition".split()
)

#: Lower-case participles that make "<Name>-<participle>" a description of origin or seat
#: ("Dunedin-raised", "Ohio-born", "London-based"): the name there is a place, not a person.
ORIGIN_PARTICIPLES = frozenset("born raised based bred educated grown headquartered".split())

#: Plural nouns for businesses that introduce a list of them ("companies including A, B and C",
#: "brands such as A and B"): every name in the list is an organization.
COMPANY_PLURALS = frozenset(
    "companies firms brands retailers businesses banks lenders insurers carmakers automakers airlines "
    "manufacturers makers groups chains corporations multinationals giants suppliers buyers "
    "broadcasters outlets newspapers networks platforms charities agencies organisations organizations".split()
)

#: Verbs whose indirect object in news is the outlet that was told or interviewed ("told Rudaw",
#: "said in an interview with"): a one-word name there that the article never gives a first name
#: for is that outlet.
TELLING_VERBS = frozenset("tell".split())

#: Words that name a storm before its given name ("Hurricane Ida", "Typhoon Hagibis"): such a name
#: is an event, not a person.
STORM_WORDS = frozenset("hurricane typhoon cyclone storm superstorm".split())

# ----------------------------------------------------------------------------- speech
#: Lemmas of verbs that report speech or writing. Our own list of common English news usage.
SPEECH_VERBS = frozenset(
    """
    say tell add stress state note explain insist argue claim warn declare announce write ask
    reply respond answer describe urge acknowledge admit comment confirm deny continue suggest
    tweet post recall report predict promise vow pledge complain conclude concede contend
    observe remark reiterate quip shout scream whisper testify maintain mention joke cry
    assert agree caution charge allege blast slam criticise criticize praise call dub label
    term characterise characterize emphasise emphasize underline highlight recount estimate
    reveal disclose boast lament plead demand tell inform assure reassure caution counter
    retort exclaim murmur mutter yell sigh laugh begin conclude summarise summarize put
    """.split()
)

#: Speech verbs that also name things ("a group called 'X'"): they only count with a subject.
NAMING_VERBS = frozenset("call dub label term describe characterise characterize put".split())

#: Pronouns resolved to the last person in subject position.
PERSON_PRONOUNS = frozenset("he she him her".split())

#: Nouns after which a quoted, title-cased span is the title of a work, not a quote.
WORK_NOUNS = frozenset(
    """
    film movie book novel song album single show series programme program play article report
    documentary poem opera painting exhibition campaign operation slogan hashtag podcast column
    headline titled entitled called named dubbed episode track memoir essay study paper known
    codenamed nicknamed branded billed
    """.split()
)

#: Words that are lower case in a title of a work ("Gone with the Wind").
TITLE_SMALL_WORDS = frozenset("a an the of and or but for nor on in at to by with from as is".split())

#: Nouns for someone speaking for an organization ("a company spokesperson").
SPOKES_NOUNS = frozenset("spokesman spokeswoman spokesperson official representative source".split())

#: Words an organization's name may use for an institution noun ("the army" -> "Sudanese Armed
#: Forces"). Our own list.
INSTITUTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "army": ("army", "armed", "military", "defence", "defense"),
    "military": ("army", "armed", "military", "defence", "defense"),
    "navy": ("navy", "naval"),
    "police": ("police", "constabulary", "gendarmerie"),
    "ministry": ("ministry", "department"),
    "department": ("department", "ministry"),
    "government": ("government", "cabinet", "administration"),
}

#: Institution nouns for businesses: "the company said" credits the last organization named.
COMPANY_NOUNS = frozenset("company firm group carmaker airline retailer miner insurer lender manufacturer producer".split())
