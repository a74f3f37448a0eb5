"""Common English given-name variants, so "Bill" and "William" compare as one name.

A small table is enough here: it only adds a shared token to the keyed encodings and a blocking
key; spelling variants are caught by the n-gram comparison anyway. Sources: common usage in
the UK; the FEBRL corruption tables use the same kind of list.
"""

from __future__ import annotations

_VARIANTS: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "alec", "sandy", "xander", "alexandra", "alexandria"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant", "antony"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cath", "cathy", "kate", "katie", "kathryn", "katherine", "kathy", "kat"),
    "charles": ("charlie", "chas", "chuck"),
    "charlotte": ("lottie", "charley"),
    "christopher": ("chris", "kit", "topher"),
    "christine": ("chrissie", "christina", "tina"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy", "dai"),
    "deborah": ("debbie", "debra", "deb"),
    "edward": ("ed", "eddie", "ted", "ned", "teddy"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "bess", "elisabeth"),
    "eleanor": ("ellie", "nell", "nora", "elinor"),
    "frederick": ("fred", "freddie", "freddy"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry"),
    "jacob": ("jake", "jakob"),
    "james": ("jim", "jimmy", "jamie", "jimmie"),
    "jennifer": ("jen", "jenny", "jenni"),
    "john": ("jack", "johnny", "jon", "jonny"),
    "jonathan": ("jon", "jonny", "johnathan"),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "katherine": ("kate", "katie", "kathy", "kath"),
    "lawrence": ("larry", "laurie", "laurence"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "margo", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "micky", "mickey", "mikey"),
    "nicholas": ("nick", "nicky", "nico", "nicolas"),
    "patricia": ("pat", "patty", "tricia", "trish"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "rick", "ricky", "dick", "richie"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammie"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzanne", "suzie"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori"),
    "william": ("will", "bill", "billy", "willy", "liam", "willie"),
    "zachary": ("zach", "zack"),
}

# A variant shared by two names ("pat", "sam", "harry") maps to the first name listed; the
# n-gram comparison still tells Patricia from Patrick.
NICKNAMES: dict[str, str] = {}
for _canonical, _variants in _VARIANTS.items():
    NICKNAMES.setdefault(_canonical, _canonical)
    for _variant in _variants:
        NICKNAMES.setdefault(_variant, _canonical)


def canonical_given_name(first_word: str) -> str:
    """The formal form of a lower-case given name, or the name itself."""
    return NICKNAMES.get(first_word, first_word)
