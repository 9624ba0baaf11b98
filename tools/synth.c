/* tools/synth.c - the built-in synthetic language and data set (see synth.h): a lexicon in
   classes, a writer that handles spaces, capitals and a / an, and one function per kind of
   clause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../subspace.h"
#include "synth.h"

#define SY_N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SY_LINE_MAX 2048 /* longest line synth_write_dataset asks for; real lines are < 600 bytes */

/* ---- the lexicon ----------------------------------------------------------------------------- */

typedef struct synth_noun {
    const char *sg, *pl;
} synth_noun;

/* Noun classes: selectional restrictions are stated in terms of these. */
enum {
    SY_ANIMAL, SY_PERSON, SY_FOOD, SY_TEXT, SY_VEHICLE, SY_ROAD, SY_PLACE, SY_WATER, SY_EVENT,
    SY_MUSIC, SY_N_CLASSES
};

static const synth_noun sy_animal[] = {
    {"dog", "dogs"}, {"cat", "cats"}, {"horse", "horses"}, {"cow", "cows"}, {"goat", "goats"},
    {"rabbit", "rabbits"}, {"fox", "foxes"}, {"bird", "birds"}, {"duck", "ducks"},
    {"mouse", "mice"}, {"wolf", "wolves"}, {"monkey", "monkeys"}, {"pony", "ponies"},
    {"puppy", "puppies"}};
static const synth_noun sy_person[] = {
    {"teacher", "teachers"}, {"student", "students"}, {"farmer", "farmers"}, {"doctor", "doctors"},
    {"nurse", "nurses"}, {"baker", "bakers"}, {"writer", "writers"}, {"singer", "singers"},
    {"child", "children"}, {"woman", "women"}, {"man", "men"}, {"girl", "girls"}, {"boy", "boys"},
    {"neighbour", "neighbours"}};
static const synth_noun sy_food[] = {
    {"apple", "apples"}, {"carrot", "carrots"}, {"cake", "cakes"}, {"cookie", "cookies"},
    {"pear", "pears"}, {"berry", "berries"}, {"peach", "peaches"},
    {"sandwich", "sandwiches"}, {"potato", "potatoes"}, {"tomato", "tomatoes"}, {"egg", "eggs"},
    {"grape", "grapes"}, {"lemon", "lemons"},
    {"onion", "onions"}, {"orange", "oranges"}};
static const synth_noun sy_text[] = {
    {"book", "books"}, {"letter", "letters"}, {"poem", "poems"}, {"story", "stories"},
    {"newspaper", "newspapers"}, {"message", "messages"},
    {"novel", "novels"}, {"recipe", "recipes"}, {"diary", "diaries"},
    {"essay", "essays"}, {"article", "articles"}};
static const synth_noun sy_vehicle[] = {
    {"car", "cars"}, {"bus", "buses"}, {"truck", "trucks"}, {"van", "vans"}, {"taxi", "taxis"},
    {"tractor", "tractors"}, {"lorry", "lorries"}, {"jeep", "jeeps"},
    {"ambulance", "ambulances"}, {"scooter", "scooters"}};
static const synth_noun sy_road[] = {
    {"road", "roads"}, {"street", "streets"}, {"highway", "highways"}, {"bridge", "bridges"},
    {"lane", "lanes"}, {"avenue", "avenues"}, {"track", "tracks"}, {"motorway", "motorways"}};
static const synth_noun sy_place[] = {
    {"park", "parks"}, {"garden", "gardens"}, {"market", "markets"}, {"school", "schools"},
    {"library", "libraries"}, {"forest", "forests"}, {"city", "cities"}, {"house", "houses"},
    {"farm", "farms"}, {"station", "stations"}, {"beach", "beaches"}, {"museum", "museums"},
    {"cinema", "cinemas"}, {"restaurant", "restaurants"}};
/* where a thing is: in the park, at the market, on the farm (one fixed word per place) */
static const char *const sy_place_at[] = {
    "in", "in", "at", "at", "in", "in", "in", "in", "on", "at", "on", "in", "at", "at"};
typedef char synth_check_place_at[SY_N(sy_place) == SY_N(sy_place_at) ? 1 : -1];
static const synth_noun sy_water[] = {
    {"river", "rivers"}, {"lake", "lakes"}, {"pond", "ponds"}, {"pool", "pools"},
    {"sea", "seas"}};
static const synth_noun sy_event[] = {
    {"film", "films"}, {"play", "plays"}, {"show", "shows"}, {"match", "matches"},
    {"party", "parties"}, {"game", "games"}, {"trip", "trips"}, {"lesson", "lessons"},
    {"dinner", "dinners"}, {"meal", "meals"}};
static const synth_noun sy_music[] = {
    {"song", "songs"}, {"concert", "concerts"}, {"album", "albums"}, {"speech", "speeches"},
    {"radio", "radios"}};

/* Descriptive (neutral) adjectives of each class, in the order they stand before a noun. */
static const char *const sy_adj_animal[] = {"big", "little", "young", "old", "hungry",
                                            "sleepy", "clever", "brown", "black",
                                            "white", "grey"};
static const char *const sy_adj_person[] = {"tall", "young", "old", "busy", "tired", "hungry",
                                            "quiet", "clever", "famous"};
static const char *const sy_adj_food[] = {"big", "small", "warm", "fresh", "ripe", "sweet",
                                          "juicy", "green", "red"};
static const char *const sy_adj_text[] = {"long", "short", "thick", "old", "new",
                                          "secret", "famous"};
static const char *const sy_adj_vehicle[] = {"heavy", "old", "new", "fast", "slow", "noisy",
                                             "red", "blue", "yellow", "white"};
static const char *const sy_adj_road[] = {"long", "wide", "narrow", "busy", "quiet",
                                          "muddy"};
static const char *const sy_adj_place[] = {"big", "small", "old", "quiet", "busy", "crowded",
                                           "sunny", "empty"};
static const char *const sy_adj_water[] = {"wide", "deep", "cold", "calm", "clear"};
static const char *const sy_adj_event[] = {"long", "short", "new", "late"};
static const char *const sy_adj_music[] = {"long", "new", "old", "loud", "quiet"};

typedef struct synth_class {
    const synth_noun *nouns;
    int n;
    const char *const *adjs;
    int n_adjs;
    const char *it; /* the pronoun of one (people: he or she, chosen per use) */
} synth_class;

static const synth_class sy_class[SY_N_CLASSES] = {
    {sy_animal, SY_N(sy_animal), sy_adj_animal, SY_N(sy_adj_animal), "it"},
    {sy_person, SY_N(sy_person), sy_adj_person, SY_N(sy_adj_person), "she"},
    {sy_food, SY_N(sy_food), sy_adj_food, SY_N(sy_adj_food), "it"},
    {sy_text, SY_N(sy_text), sy_adj_text, SY_N(sy_adj_text), "it"},
    {sy_vehicle, SY_N(sy_vehicle), sy_adj_vehicle, SY_N(sy_adj_vehicle), "it"},
    {sy_road, SY_N(sy_road), sy_adj_road, SY_N(sy_adj_road), "it"},
    {sy_place, SY_N(sy_place), sy_adj_place, SY_N(sy_adj_place), "it"},
    {sy_water, SY_N(sy_water), sy_adj_water, SY_N(sy_adj_water), "it"},
    {sy_event, SY_N(sy_event), sy_adj_event, SY_N(sy_adj_event), "it"},
    {sy_music, SY_N(sy_music), sy_adj_music, SY_N(sy_adj_music), "it"}};

/* Names: singular, no determiner; odd ones are "he", even ones "she". */
static const char *const sy_name[] = {"Anna", "Tom", "Maria", "Ben", "Lucy", "Omar",
                                      "Sara", "Jack", "Emma", "Leo"};

/* A verb's forms, the preposition it takes (NULL: a direct object, or none) and the class of
   what follows (-1: nothing; SY_AT_PLACE: a place with its own word of location). */
typedef struct synth_verb {
    const char *base, *s, *ed, *ing;
    const char *prep;
    int obj;
} synth_verb;

#define SY_AT_PLACE 100 /* "sleeps in the park", "sleeps at the station" */
#define SY_OPINION 101  /* an event, song, text, food or place: what opinions are about */

static const synth_verb sy_eat[] = { /* animals and people eat food */
    {"eat", "eats", "ate", "eating", NULL, SY_FOOD},
    {"chew", "chews", "chewed", "chewing", NULL, SY_FOOD},
    {"nibble", "nibbles", "nibbled", "nibbling", NULL, SY_FOOD}};
static const synth_verb sy_read[] = { /* people read texts */
    {"read", "reads", "read", "reading", NULL, SY_TEXT},
    {"write", "writes", "wrote", "writing", NULL, SY_TEXT},
    {"study", "studies", "studied", "studying", NULL, SY_TEXT},
    {"copy", "copies", "copied", "copying", NULL, SY_TEXT},
    {"finish", "finishes", "finished", "finishing", NULL, SY_TEXT}};
static const synth_verb sy_drive[] = { /* vehicles move on roads */
    {"drive", "drives", "drove", "driving", "along", SY_ROAD},
    {"race", "races", "raced", "racing", "down", SY_ROAD},
    {"rattle", "rattles", "rattled", "rattling", "over", SY_ROAD},
    {"stop", "stops", "stopped", "stopping", "on", SY_ROAD}};
static const synth_verb sy_move[] = { /* animals and people go places */
    {"walk", "walks", "walked", "walking", "to", SY_PLACE},
    {"go", "goes", "went", "going", "to", SY_PLACE},
    {"sleep", "sleeps", "slept", "sleeping", NULL, SY_AT_PLACE},
    {"play", "plays", "played", "playing", NULL, SY_AT_PLACE},
    {"live", "lives", "lived", "living", NULL, SY_AT_PLACE},
    {"swim", "swims", "swam", "swimming", "in", SY_WATER},
    {"jump", "jumps", "jumped", "jumping", "into", SY_WATER}};
static const synth_verb sy_percept[] = { /* people, with a fixed preposition each */
    {"look", "looks", "looked", "looking", "at", SY_ANIMAL},
    {"listen", "listens", "listened", "listening", "to", SY_MUSIC},
    {"talk", "talks", "talked", "talking", "to", SY_PERSON},
    {"think", "thinks", "thought", "thinking", "about", SY_EVENT},
    {"wait", "waits", "waited", "waiting", "for", SY_VEHICLE}};
static const synth_verb sy_love[] = { /* positive opinions */
    {"love", "loves", "loved", "loving", NULL, SY_OPINION},
    {"like", "likes", "liked", "liking", NULL, SY_OPINION},
    {"enjoy", "enjoys", "enjoyed", "enjoying", NULL, SY_OPINION},
    {"adore", "adores", "adored", "adoring", NULL, SY_OPINION},
    {"praise", "praises", "praised", "praising", NULL, SY_OPINION}};
static const synth_verb sy_hate[] = { /* negative opinions */
    {"hate", "hates", "hated", "hating", NULL, SY_OPINION},
    {"dislike", "dislikes", "disliked", "disliking", NULL, SY_OPINION},
    {"despise", "despises", "despised", "despising", NULL, SY_OPINION},
    {"dread", "dreads", "dreaded", "dreading", NULL, SY_OPINION},
    {"criticize", "criticizes", "criticized", "criticizing", NULL, SY_OPINION}};
static const synth_verb sy_neutral[] = { /* people, no opinion of their own */
    {"watch", "watches", "watched", "watching", NULL, SY_EVENT},
    {"see", "sees", "saw", "seeing", NULL, SY_EVENT},
    {"describe", "describes", "described", "describing", NULL, SY_OPINION},
    {"remember", "remembers", "remembered", "remembering", NULL, SY_OPINION},
    {"buy", "buys", "bought", "buying", NULL, SY_FOOD},
    {"visit", "visits", "visited", "visiting", NULL, SY_PLACE}};
static const synth_verb sy_perform[] = { /* people, no object; manner adverbs judge them */
    {"sing", "sings", "sang", "singing", NULL, -1},
    {"dance", "dances", "danced", "dancing", NULL, -1},
    {"perform", "performs", "performed", "performing", NULL, -1},
    {"speak", "speaks", "spoke", "speaking", NULL, -1},
    {"cook", "cooks", "cooked", "cooking", NULL, -1}};

/* Opinion words: index 1 positive, 0 negative. */
static const char *const sy_good[] = {"wonderful", "great", "excellent", "lovely", "delightful",
                                      "brilliant", "charming", "pleasant", "superb", "beautiful",
                                      "amazing", "fantastic", "good"};
static const char *const sy_bad[] = {"awful", "terrible", "horrible", "dreadful", "boring",
                                     "dull", "poor", "bad", "ugly", "nasty", "disappointing",
                                     "miserable", "weak"};
static const char *const sy_well[] = {"beautifully", "wonderfully", "brilliantly", "perfectly",
                                      "well"};
static const char *const sy_badly[] = {"badly", "terribly", "poorly", "awkwardly", "clumsily"};
static const char *const sy_manner[] = {"quickly", "slowly", "quietly", "loudly", "carefully",
                                        "gently", "suddenly", "eagerly"};
static const char *const sy_degree[] = {"very", "really", "quite", "rather", "extremely", "so"};
#define SY_N_DEGREE_ATTR 5 /* "so" only after a verb: "is so good", not "a so good film" */
static const char *const sy_often[] = {"often", "usually", "always", "sometimes"};

/* Tenses, and the time phrases that go with each. */
enum { SY_PRES, SY_PAST, SY_PROG, SY_FUT };
static const char *const sy_when_pres[] = {"every day", "every morning", "every week"};
static const char *const sy_when_past[] = {"yesterday", "last week", "last night",
                                           "two days ago"};
static const char *const sy_when_prog[] = {"now", "right now", "at the moment"};
static const char *const sy_when_fut[] = {"tomorrow", "next week", "soon"};

/* Agreement of a subject: third person singular, plural (they, we, you), or "I". */
enum { SY_3SG, SY_PL, SY_I };

/* ---- random choices -------------------------------------------------------------------------- */

static int synth_below(ss_rng *r, int n) {
    return (int)(((uint64_t)ss_rng_u32(r) * (uint64_t)n) >> 32);
}

static int synth_chance(ss_rng *r, float p) { return ss_rng_uniform(r) < p; }

/* An index in [0, n) favouring the front: half the time the smaller of two draws, so words
   have unequal frequencies as in real text. */
static int synth_pick(ss_rng *r, int n) {
    int a = synth_below(r, n), b;
    if (synth_chance(r, 0.5f)) return a;
    b = synth_below(r, n);
    return a < b ? a : b;
}

#define SY_ANY(r, list) ((list)[synth_pick((r), SY_N(list))])

/* ---- the writer ------------------------------------------------------------------------------ */

typedef struct synth_out {
    char *buf;
    size_t cap, len;
    int capital; /* the next word starts a sentence */
    int article; /* an indefinite article waits for the next word: "a" or "an" */
} synth_out;

static void synth_raw(synth_out *o, const char *s, int capital) {
    for (; *s; s++) {
        char c = *s;
        if (capital && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        capital = 0;
        if (o->len + 1 < o->cap) o->buf[o->len++] = c;
    }
}

/* Append a word (or a few, space-separated) or a punctuation mark. Words get a space before
   them, a capital at a sentence start, and a pending article turned into "a" or "an". */
static void synth_put(synth_out *o, const char *w) {
    int punct = w[0] != '\0' && w[1] == '\0' && strchr(",.!?", w[0]) != NULL;
    if (punct) {
        synth_raw(o, w, 0);
        return;
    }
    if (o->article) {
        o->article = 0;
        synth_put(o, w[0] != '\0' && strchr("aeiou", w[0]) ? "an" : "a");
    }
    if (o->len > 0) synth_raw(o, " ", 0);
    synth_raw(o, w, o->capital);
    o->capital = 0;
}

static void synth_end(synth_out *o, const char *mark) {
    synth_put(o, mark);
    o->capital = 1;
}

/* ---- phrases --------------------------------------------------------------------------------- */

/* What a subject left for a later sentence: its class, agreement and pronoun. */
typedef struct synth_subj {
    int cls;             /* -1: none */
    int agr;             /* SY_3SG, SY_PL, SY_I */
    const char *pronoun; /* "it", "she", "they", "I", "we", "you" */
} synth_subj;

/* The class itself, or for SY_OPINION one of the things opinions are about. */
static int synth_random_class(ss_rng *r, int cls) {
    static const int opinion_classes[] = {SY_EVENT, SY_EVENT, SY_MUSIC, SY_TEXT, SY_FOOD,
                                          SY_PLACE};
    return cls == SY_OPINION ? opinion_classes[synth_below(r, SY_N(opinion_classes))] : cls;
}

#define SY_NP_DEF 1u    /* definite determiners only (the, this, my...) */
#define SY_NP_INDEF 2u  /* indefinite determiners only (a, some, two...) */
#define SY_NP_BARE 4u   /* may have no determiner (plural) or "a lot of" */
#define SY_NP_NO_ADJ 8u /* no adjectives */

/* The determiner of a noun phrase; plural decides which ones agree. */
static void synth_det(synth_out *o, ss_rng *r, int plural, unsigned flags) {
    static const char *const def_sg[] = {"the", "the", "the", "the", "this", "that", "my",
                                         "his", "her", "our", "their", "your"};
    static const char *const def_pl[] = {"the", "the", "the", "these", "those", "my", "our",
                                         "their", "his", "her"};
    static const char *const indef_pl[] = {"some", "some", "many", "two", "three", "four",
                                           "five", "several"};
    float u = ss_rng_uniform(r);
    if (!plural) {
        if (flags & SY_NP_INDEF) o->article = 1;
        else if (flags & SY_NP_DEF || u < 0.62f) synth_put(o, SY_ANY(r, def_sg));
        else if (u < 0.95f) o->article = 1;
        else synth_put(o, "every");
        return;
    }
    if ((flags & SY_NP_BARE) && u < 0.25f) {
        if (u < 0.06f) synth_put(o, "a lot of");
        return; /* a bare plural */
    }
    if (flags & SY_NP_INDEF) synth_put(o, SY_ANY(r, indef_pl));
    else if (flags & SY_NP_DEF || u < 0.7f) synth_put(o, SY_ANY(r, def_pl));
    else synth_put(o, SY_ANY(r, indef_pl));
}

/* Zero, one or two descriptive adjectives of the class, in their fixed order, sometimes after a
   degree word ("a very big old dog"). */
static void synth_adjs(synth_out *o, ss_rng *r, int cls) {
    const synth_class *c = &sy_class[cls];
    float u = ss_rng_uniform(r);
    int a, b;
    if (u < 0.45f) return;
    if (synth_chance(r, 0.12f)) synth_put(o, sy_degree[synth_pick(r, SY_N_DEGREE_ATTR)]);
    a = synth_below(r, c->n_adjs);
    if (u < 0.85f) {
        synth_put(o, c->adjs[a]);
        return;
    }
    b = synth_below(r, c->n_adjs - 1);
    if (b >= a) b++;
    synth_put(o, c->adjs[a < b ? a : b]);
    synth_put(o, c->adjs[a < b ? b : a]);
}

static const char *synth_noun_word(ss_rng *r, int cls, int plural) {
    const synth_class *c = &sy_class[cls];
    const synth_noun *n = &c->nouns[synth_pick(r, c->n)];
    return plural ? n->pl : n->sg;
}

/* A noun phrase of class cls: determiner, adjectives, noun. */
static void synth_np(synth_out *o, ss_rng *r, int cls, int plural, unsigned flags) {
    synth_det(o, r, plural, flags);
    if (!(flags & SY_NP_NO_ADJ)) synth_adjs(o, r, cls);
    synth_put(o, synth_noun_word(r, cls, plural));
}

/* Where something is: "in the park", "at the station", "on the farm", "in front of the house". */
static void synth_location(synth_out *o, ss_rng *r) {
    int k = synth_pick(r, SY_N(sy_place)), plural = synth_chance(r, 0.1f);
    if (synth_chance(r, 0.06f)) synth_put(o, "in front of");
    else synth_put(o, sy_place_at[k]);
    synth_det(o, r, plural, SY_NP_DEF);
    if (synth_chance(r, 0.2f)) synth_put(o, sy_adj_place[synth_below(r, SY_N(sy_adj_place))]);
    synth_put(o, plural ? sy_place[k].pl : sy_place[k].sg);
}

/* The object of a verb: a noun phrase of its class, after its preposition. */
static void synth_object(synth_out *o, ss_rng *r, const synth_verb *v) {
    int cls, plural;
    if (v->obj < 0) return;
    if (v->obj == SY_AT_PLACE) {
        synth_location(o, r);
        return;
    }
    if (v->prep) synth_put(o, v->prep);
    cls = synth_random_class(r, v->obj);
    plural = synth_chance(r, 0.4f);
    if (cls == SY_PERSON && synth_chance(r, 0.25f)) synth_put(o, SY_ANY(r, sy_name));
    else synth_np(o, r, cls, plural, SY_NP_BARE);
}

/* A subject of class cls, or the pronoun of the previous one when it fits and the dice agree.
   People may be a name, I, we or you; animals and people may come with a relative clause, a
   place, or a second noun phrase joined by "and" (which makes them plural). */
static void synth_subject(synth_out *o, ss_rng *r, int cls, const synth_subj *prev,
                          synth_subj *sj) {
    float u;
    int plural;
    if (prev && prev->cls == cls && synth_chance(r, 0.45f)) {
        *sj = *prev;
        synth_put(o, sj->pronoun);
        return;
    }
    sj->cls = cls;
    u = ss_rng_uniform(r);
    if (cls == SY_PERSON && u < 0.2f) {
        int k = synth_pick(r, SY_N(sy_name));
        synth_put(o, sy_name[k]);
        sj->agr = SY_3SG;
        sj->pronoun = k % 2 ? "he" : "she";
        return;
    }
    if (cls == SY_PERSON && u < 0.27f) {
        static const char *const who[] = {"I", "we", "you"};
        int k = synth_below(r, 3);
        synth_put(o, who[k]);
        sj->agr = k == 0 ? SY_I : SY_PL;
        sj->pronoun = who[k];
        return;
    }
    plural = synth_chance(r, 0.4f);
    synth_np(o, r, cls, plural, 0);
    sj->agr = plural ? SY_PL : SY_3SG;
    sj->pronoun = plural ? "they" : cls == SY_PERSON ? (synth_chance(r, 0.5f) ? "he" : "she")
                                                     : sy_class[cls].it;
    if (cls != SY_ANIMAL && cls != SY_PERSON) return;
    u = ss_rng_uniform(r);
    if (u < 0.07f) { /* "the dog and the cat" */
        synth_put(o, "and");
        synth_np(o, r, cls, synth_chance(r, 0.4f), SY_NP_NO_ADJ);
        sj->agr = SY_PL;
        sj->pronoun = "they";
    } else if (u < 0.19f) { /* "the dog that eats apples", "the girls who read poems" */
        const synth_verb *v = cls == SY_ANIMAL ? &sy_eat[synth_pick(r, SY_N(sy_eat))]
                                               : &sy_read[synth_pick(r, SY_N(sy_read))];
        synth_put(o, cls == SY_PERSON ? "who" : "that");
        synth_put(o, plural ? v->base : v->s);
        synth_object(o, r, v);
    } else if (u < 0.27f) {
        synth_location(o, r);
    }
}

/* The verb group for a tense: "eats", "ate", "is eating", "will eat", negated with do-support
   ("does not eat", "did not eat"), "not" or "never" (neg 1 or 2); a frequency word sometimes. */
static void synth_verb_group(synth_out *o, ss_rng *r, const synth_verb *v, int tense, int agr,
                             int neg) {
    switch (tense) {
    case SY_PRES:
        if (neg == 1) {
            synth_put(o, agr == SY_3SG ? "does not" : "do not");
            synth_put(o, v->base);
            return;
        }
        if (neg == 2) synth_put(o, "never");
        else if (synth_chance(r, 0.12f)) synth_put(o, SY_ANY(r, sy_often));
        synth_put(o, agr == SY_3SG ? v->s : v->base);
        return;
    case SY_PAST:
        if (neg == 1) {
            synth_put(o, "did not");
            synth_put(o, v->base);
            return;
        }
        if (neg == 2) synth_put(o, "never");
        synth_put(o, v->ed);
        return;
    case SY_PROG:
        synth_put(o, agr == SY_3SG ? "is" : agr == SY_I ? "am" : "are");
        if (neg) synth_put(o, "not");
        synth_put(o, v->ing);
        return;
    default:
        synth_put(o, "will");
        if (neg) synth_put(o, neg == 2 ? "never" : "not");
        synth_put(o, v->base);
        return;
    }
}

/* A form of "to be" for a tense (the progressive counts as the present). */
static void synth_be(synth_out *o, int tense, int agr, int neg) {
    if (tense == SY_FUT) synth_put(o, neg == 2 ? "will never be" : neg ? "will not be" : "will be");
    else {
        if (tense == SY_PAST) synth_put(o, agr == SY_PL ? "were" : "was");
        else synth_put(o, agr == SY_3SG ? "is" : agr == SY_I ? "am" : "are");
        if (neg) synth_put(o, neg == 2 ? "never" : "not");
    }
}

static int synth_tense(ss_rng *r) {
    float u = ss_rng_uniform(r);
    return u < 0.4f ? SY_PRES : u < 0.72f ? SY_PAST : u < 0.86f ? SY_PROG : SY_FUT;
}

static const char *synth_when(ss_rng *r, int tense) {
    switch (tense) {
    case SY_PRES: return SY_ANY(r, sy_when_pres);
    case SY_PAST: return SY_ANY(r, sy_when_past);
    case SY_PROG: return SY_ANY(r, sy_when_prog);
    default: return SY_ANY(r, sy_when_fut);
    }
}

/* A time phrase for the tense at the start ("Yesterday, ..."), or a fixed opener that fits it
   ("Once upon a time, ..."); returns the phrase to put at the end instead, or NULL. */
static const char *synth_opener(synth_out *o, ss_rng *r, int tense) {
    float u = ss_rng_uniform(r);
    if (u < 0.12f) {
        synth_put(o, synth_when(r, tense));
        synth_put(o, ",");
    } else if (u < 0.3f) {
        return synth_when(r, tense);
    } else if (u < 0.36f) {
        if (tense == SY_PAST)
            synth_put(o, synth_chance(r, 0.5f) ? "once upon a time" : "all of a sudden");
        else if (tense == SY_PRES)
            synth_put(o, synth_chance(r, 0.5f) ? "at the end of the day" : "as a matter of fact");
        else
            synth_put(o, synth_chance(r, 0.5f) ? "by the way" : "on the other hand");
        synth_put(o, ",");
    }
    return NULL;
}

/* ---- neutral sentences ----------------------------------------------------------------------- */

enum { SY_K_EAT, SY_K_READ, SY_K_DRIVE, SY_K_MOVE, SY_K_PERCEPT, SY_K_NEUTRAL, SY_K_PERFORM,
       SY_K_COUNT };

/* "The hungry dogs eat some apples in the garden." and the like: a subject doing something
   with its verb's object, in some tense, perhaps negated, perhaps with a time phrase. */
static void synth_action(synth_out *o, ss_rng *r, const synth_subj *prev, synth_subj *sj) {
    const synth_verb *v;
    int kind = synth_below(r, SY_K_COUNT), cls, tense = synth_tense(r);
    int neg = synth_chance(r, 0.1f) ? 1 : 0;
    const char *end_when;
    switch (kind) {
    case SY_K_EAT:
        v = &sy_eat[synth_pick(r, SY_N(sy_eat))];
        cls = synth_chance(r, 0.6f) ? SY_ANIMAL : SY_PERSON;
        break;
    case SY_K_READ:
        v = &sy_read[synth_pick(r, SY_N(sy_read))];
        cls = SY_PERSON;
        break;
    case SY_K_DRIVE:
        v = &sy_drive[synth_pick(r, SY_N(sy_drive))];
        cls = SY_VEHICLE;
        break;
    case SY_K_MOVE:
        v = &sy_move[synth_pick(r, SY_N(sy_move))];
        cls = synth_chance(r, 0.5f) ? SY_ANIMAL : SY_PERSON;
        break;
    case SY_K_PERCEPT:
        v = &sy_percept[synth_pick(r, SY_N(sy_percept))];
        cls = SY_PERSON;
        break;
    case SY_K_NEUTRAL:
        v = &sy_neutral[synth_pick(r, SY_N(sy_neutral))];
        cls = SY_PERSON;
        break;
    default:
        v = &sy_perform[synth_pick(r, SY_N(sy_perform))];
        cls = SY_PERSON;
        break;
    }
    end_when = synth_opener(o, r, tense);
    synth_subject(o, r, cls, prev, sj);
    synth_verb_group(o, r, v, tense, sj->agr, neg);
    synth_object(o, r, v);
    if (kind == SY_K_PERFORM || synth_chance(r, 0.1f)) synth_put(o, SY_ANY(r, sy_manner));
    if ((kind == SY_K_EAT || kind == SY_K_READ || kind == SY_K_PERFORM || kind == SY_K_NEUTRAL) &&
        synth_chance(r, 0.4f))
        synth_location(o, r);
    if (end_when) synth_put(o, end_when);
    else if (tense == SY_PAST && !neg && synth_chance(r, 0.04f)) synth_put(o, "for the first time");
}

/* "The roads were very busy." */
static void synth_describe(synth_out *o, ss_rng *r, const synth_subj *prev, synth_subj *sj) {
    int cls = synth_below(r, SY_N_CLASSES), tense = synth_tense(r);
    int neg = synth_chance(r, 0.12f), a, b;
    const synth_class *c = &sy_class[cls];
    synth_subject(o, r, cls, prev, sj);
    synth_be(o, tense, sj->agr, neg);
    if (synth_chance(r, 0.3f)) synth_put(o, SY_ANY(r, sy_degree));
    a = synth_below(r, c->n_adjs);
    synth_put(o, c->adjs[a]);
    if (synth_chance(r, 0.15f)) { /* a second one, not the same */
        b = synth_below(r, c->n_adjs - 1);
        synth_put(o, "and");
        synth_put(o, c->adjs[b >= a ? b + 1 : b]);
    }
    if (synth_chance(r, 0.25f)) synth_put(o, synth_when(r, tense));
}

/* "There are two cats in the garden." "There was a bus on the bridge." */
static void synth_there(synth_out *o, ss_rng *r) {
    static const int classes[] = {SY_ANIMAL, SY_PERSON, SY_FOOD, SY_VEHICLE, SY_TEXT};
    int cls = classes[synth_below(r, SY_N(classes))], plural = synth_chance(r, 0.5f);
    int past = synth_chance(r, 0.4f);
    synth_put(o, "there");
    synth_put(o, past ? (plural ? "were" : "was") : (plural ? "are" : "is"));
    synth_np(o, r, cls, plural, SY_NP_INDEF);
    if (cls == SY_VEHICLE) {
        synth_put(o, synth_chance(r, 0.5f) ? "on" : "near");
        synth_np(o, r, SY_ROAD, 0, SY_NP_DEF | SY_NP_NO_ADJ);
    } else {
        synth_location(o, r);
    }
}

/* Questions: "Does the dog eat apples?", "Were the roads busy?", "Where do the children play?" */
static void synth_question(synth_out *o, ss_rng *r) {
    float u = ss_rng_uniform(r);
    int plural = synth_chance(r, 0.4f), agr = plural ? SY_PL : SY_3SG;
    int past = synth_chance(r, 0.35f);
    if (u < 0.3f) {
        int cls = synth_below(r, SY_N_CLASSES);
        const synth_class *c = &sy_class[cls];
        synth_put(o, past ? (plural ? "were" : "was") : (plural ? "are" : "is"));
        synth_np(o, r, cls, plural, SY_NP_DEF | SY_NP_NO_ADJ);
        if (synth_chance(r, 0.2f)) synth_put(o, SY_ANY(r, sy_degree));
        synth_put(o, c->adjs[synth_below(r, c->n_adjs)]);
    } else {
        int animal = synth_chance(r, 0.5f), wh = u > 0.7f;
        const synth_verb *v = !animal ? &sy_read[synth_pick(r, SY_N(sy_read))]
                              : synth_chance(r, 0.5f) ? &sy_eat[synth_pick(r, SY_N(sy_eat))]
                                                      : &sy_move[synth_pick(r, SY_N(sy_move))];
        if (wh) /* asking for the object or the place, which is then left out */
            synth_put(o, v->obj == SY_FOOD || v->obj == SY_TEXT ? "what"
                       : v->obj == SY_AT_PLACE ? "where" : "why");
        synth_put(o, past ? "did" : agr == SY_3SG ? "does" : "do");
        synth_np(o, r, animal ? SY_ANIMAL : SY_PERSON, plural, SY_NP_DEF);
        synth_put(o, v->base);
        if (!wh || !(v->obj == SY_FOOD || v->obj == SY_TEXT || v->obj == SY_AT_PLACE))
            synth_object(o, r, v);
    }
}

/* ---- opinions -------------------------------------------------------------------------------- */

/* The negation of an opinion clause: 0 none, 1 "not", 2 "never". */
static int synth_negation(ss_rng *r) {
    if (!synth_chance(r, 0.35f)) return 0;
    return synth_chance(r, 0.8f) ? 1 : 2;
}

static const char *synth_opinion_adj(ss_rng *r, int positive) {
    return positive ? SY_ANY(r, sy_good) : SY_ANY(r, sy_bad);
}

/* After a form of "to be": "(very) wonderful", "lovely and charming", "(not) good at all". */
static void synth_judgement(synth_out *o, ss_rng *r, int word_pol, int neg) {
    const char *const *list = word_pol ? sy_good : sy_bad;
    int n = word_pol ? SY_N(sy_good) : SY_N(sy_bad), a = synth_pick(r, n), b;
    if (synth_chance(r, 0.3f))
        synth_put(o, neg ? sy_degree[synth_below(r, 2)] : SY_ANY(r, sy_degree));
    synth_put(o, list[a]);
    if (!neg && synth_chance(r, 0.2f)) { /* a second one, not the same */
        b = synth_below(r, n - 1);
        synth_put(o, "and");
        synth_put(o, list[b >= a ? b + 1 : b]);
    } else if (neg == 1 && synth_chance(r, 0.2f)) {
        synth_put(o, "at all");
    }
}

/* A clause whose sentiment is pol (1 positive, 0 negative), with negation flipping the word it
   applies to. kind: 0 "the film was (not) wonderful", 1 "Anna (does not) love(s) the song",
   2 "we watched an awful film", 3 "the singer sang (not) beautifully". sj gets the subject.
   Returns the tense used. */
static int synth_opinion_clause(synth_out *o, ss_rng *r, int pol, int kind, int neutral_first,
                                 const synth_subj *prev, synth_subj *sj) {
    int tense = synth_chance(r, 0.55f) ? SY_PAST : synth_chance(r, 0.75f) ? SY_PRES : SY_FUT;
    int neg = kind == 2 ? 0 : synth_negation(r), word_pol = neg ? !pol : pol;
    const synth_verb *v;
    if (kind == 0) { /* an event, song, text, food or place, then be + opinion adjective */
        int cls = synth_random_class(r, SY_OPINION);
        if (prev && prev->cls >= 0 && prev->cls != SY_PERSON && prev->cls != SY_ANIMAL)
            cls = prev->cls;
        synth_subject(o, r, cls, prev, sj);
        if (neutral_first) { /* "the film was long": no opinion at all */
            const synth_class *c = &sy_class[cls];
            synth_be(o, tense, sj->agr, 0);
            synth_put(o, c->adjs[synth_below(r, c->n_adjs)]);
            return tense;
        }
        synth_be(o, tense, sj->agr, neg);
        synth_judgement(o, r, word_pol, neg);
        return tense;
    }
    synth_subject(o, r, SY_PERSON, prev, sj);
    if (tense == SY_FUT && kind != 1) tense = SY_PAST;
    if (kind == 1) { /* an opinion verb */
        v = word_pol ? &sy_love[synth_pick(r, SY_N(sy_love))]
                     : &sy_hate[synth_pick(r, SY_N(sy_hate))];
        if (!neg && tense == SY_PAST && synth_chance(r, 0.15f)) synth_put(o, "really");
        synth_verb_group(o, r, v, tense, sj->agr, neg);
        synth_np(o, r, synth_random_class(r, SY_OPINION), synth_chance(r, 0.35f),
                 SY_NP_BARE | SY_NP_NO_ADJ);
    } else if (kind == 2) { /* a neutral verb, an opinion adjective on its object */
        int cls, plural = synth_chance(r, 0.3f);
        v = &sy_neutral[synth_pick(r, SY_N(sy_neutral))];
        cls = synth_random_class(r, v->obj);
        synth_verb_group(o, r, v, tense, sj->agr, 0);
        synth_det(o, r, plural, 0);
        if (synth_chance(r, 0.25f)) synth_put(o, sy_degree[synth_pick(r, SY_N_DEGREE_ATTR)]);
        synth_put(o, synth_opinion_adj(r, word_pol));
        synth_put(o, synth_noun_word(r, cls, plural));
    } else { /* a performance and how well it went */
        v = &sy_perform[synth_pick(r, SY_N(sy_perform))];
        synth_verb_group(o, r, v, tense, sj->agr, neg);
        synth_put(o, word_pol ? SY_ANY(r, sy_well) : SY_ANY(r, sy_badly));
        if (synth_chance(r, 0.3f)) {
            static const char *const occasion[] = {"party", "concert", "show", "dinner", "play"};
            synth_put(o, "at the");
            synth_put(o, SY_ANY(r, occasion));
        }
    }
    return tense;
}

static int synth_opinion_kind(ss_rng *r) {
    float u = ss_rng_uniform(r);
    return u < 0.38f ? 0 : u < 0.7f ? 1 : u < 0.85f ? 2 : 3;
}

/* One sentence of sentiment pol, end mark included. */
static void synth_opinion(synth_out *o, ss_rng *r, int pol, const synth_subj *prev,
                          synth_subj *sj) {
    float u = ss_rng_uniform(r);
    synth_subj first;
    const char *mark = synth_chance(r, 0.1f) ? "!" : ".";
    if (u < 0.66f) { /* one clause, perhaps introduced */
        int kind = synth_opinion_kind(r), tense;
        if (synth_chance(r, 0.06f)) synth_put(o, "I think that");
        else if (synth_chance(r, 0.04f)) synth_put(o, "everyone says that");
        tense = synth_opinion_clause(o, r, pol, kind, 0, prev, sj);
        if (synth_chance(r, 0.25f)) synth_put(o, synth_when(r, tense));
    } else if (u < 0.71f) { /* "What a wonderful film!" */
        int plural = synth_chance(r, 0.3f), cls = synth_random_class(r, SY_OPINION);
        synth_put(o, "what");
        if (!plural) o->article = 1;
        if (synth_chance(r, 0.15f)) synth_put(o, sy_degree[synth_pick(r, SY_N_DEGREE_ATTR)]);
        synth_put(o, synth_opinion_adj(r, pol));
        synth_put(o, synth_noun_word(r, cls, plural));
        sj->cls = cls;
        sj->agr = plural ? SY_PL : SY_3SG;
        sj->pronoun = plural ? "they" : "it";
        mark = "!";
    } else if (u < 0.88f) { /* "X, but Y": Y decides */
        int kind = synth_opinion_kind(r), neutral = kind == 0 && synth_chance(r, 0.3f);
        int kind2 = neutral ? 0 : synth_chance(r, 0.3f) ? synth_opinion_kind(r) : kind;
        synth_opinion_clause(o, r, !pol, kind, neutral, prev, &first);
        synth_put(o, ",");
        synth_put(o, "but");
        synth_opinion_clause(o, r, pol, kind2, 0, &first, sj);
    } else if (u < 0.95f) { /* "Although X, Y" */
        synth_put(o, "although");
        synth_opinion_clause(o, r, !pol, synth_opinion_kind(r), 0, prev, &first);
        synth_put(o, ",");
        synth_opinion_clause(o, r, pol, synth_opinion_kind(r), 0, &first, sj);
    } else { /* "X, and Y": both agree */
        synth_opinion_clause(o, r, pol, synth_opinion_kind(r), 0, prev, &first);
        synth_put(o, ",");
        synth_put(o, "and");
        synth_opinion_clause(o, r, pol, synth_opinion_kind(r), 0, &first, sj);
    }
    synth_end(o, mark);
}

/* ---- sentences, lines, labelled sentences ---------------------------------------------------- */

/* One sentence of any kind, end mark included. */
static void synth_sentence(synth_out *o, ss_rng *r, const synth_subj *prev, synth_subj *sj) {
    float u = ss_rng_uniform(r);
    sj->cls = -1; /* no subject to refer back to, unless a clause below sets one */
    sj->agr = SY_3SG;
    sj->pronoun = "it";
    if (u < 0.22f) {
        synth_opinion(o, r, synth_chance(r, 0.5f), prev, sj);
        return;
    }
    if (u < 0.31f) {
        synth_question(o, r);
        synth_end(o, "?");
        return;
    }
    if (u < 0.38f) synth_there(o, r);
    else if (u < 0.5f) synth_describe(o, r, prev, sj);
    else if (u < 0.53f) { /* "What a busy road!" */
        int cls = synth_below(r, SY_N_CLASSES), plural = synth_chance(r, 0.3f);
        const synth_class *c = &sy_class[cls];
        synth_put(o, "what");
        if (!plural) o->article = 1;
        synth_put(o, c->adjs[synth_below(r, c->n_adjs)]);
        synth_put(o, synth_noun_word(r, cls, plural));
        synth_end(o, "!");
        return;
    } else {
        if (prev && prev->cls >= 0 && synth_chance(r, 0.15f)) {
            synth_put(o, "then");
            synth_put(o, ",");
        }
        synth_action(o, r, prev, sj);
    }
    synth_end(o, synth_chance(r, 0.06f) ? "!" : ".");
}

static size_t synth_finish(synth_out *o) {
    if (o->cap == 0) return 0;
    o->buf[o->len] = '\0';
    return o->len;
}

size_t synth_line(ss_rng *rng, char *buf, size_t cap) {
    synth_out o;
    synth_subj prev, cur;
    float u = ss_rng_uniform(rng);
    int n = u < 0.45f ? 1 : u < 0.8f ? 2 : 3, i;
    o.buf = buf;
    o.cap = cap;
    o.len = 0;
    o.capital = 1;
    o.article = 0;
    prev.cls = -1;
    for (i = 0; i < n; i++) {
        synth_sentence(&o, rng, i ? &prev : NULL, &cur);
        prev = cur;
    }
    return synth_finish(&o);
}

size_t synth_labelled(ss_rng *rng, char *buf, size_t cap, int *label) {
    synth_out o;
    synth_subj sj;
    int pol = synth_chance(rng, 0.5f);
    o.buf = buf;
    o.cap = cap;
    o.len = 0;
    o.capital = 1;
    o.article = 0;
    synth_opinion(&o, rng, pol, NULL, &sj);
    *label = synth_chance(rng, 0.03f) ? !pol : pol; /* 3% label noise */
    return synth_finish(&o);
}

/* ---- the data set ---------------------------------------------------------------------------- */

/* Report a failure as the `ss` commands do; the library's detail starts with the file name. */
static int synth_fail(const char *path, const char *reason) {
    if (strncmp(reason, path, strlen(path)) == 0) fprintf(stderr, "ss: %s\n", reason);
    else fprintf(stderr, "ss: %s: %s\n", path, reason);
    return -1;
}

/* Write one file of n lines (tsv: labelled rows under a header) from the stream rng, through a
   crash-safe ss_writer in 64 KiB chunks, so memory stays small whatever n is. */
static int synth_write_file(const char *dir, const char *name, ss_rng rng, int n, int tsv) {
    size_t dir_len = strlen(dir), chunk_cap = 1 << 16, used = 0;
    char *path = (char *)malloc(dir_len + strlen(name) + 2), *chunk = (char *)malloc(chunk_cap);
    char line[SY_LINE_MAX];
    ss_writer w;
    int i, status = 0;
    if (!path || !chunk) {
        free(path);
        free(chunk);
        return synth_fail(name, "out of memory");
    }
    sprintf(path, "%s%s%s", dir, dir_len && dir[dir_len - 1] == '/' ? "" : "/", name);
    if (ss_writer_init(&w, path) != SS_OK) {
        status = synth_fail(path, ss_last_error_detail());
        free(path);
        free(chunk);
        return status;
    }
    if (tsv) {
        memcpy(chunk, "sentence\tlabel\n", 15);
        used = 15;
    }
    for (i = 0; i < n; i++) {
        size_t len;
        int label = 0;
        len = tsv ? synth_labelled(&rng, line, sizeof line - 4, &label)
                  : synth_line(&rng, line, sizeof line - 1);
        if (tsv) {
            line[len++] = '\t';
            line[len++] = (char)('0' + label);
        }
        line[len++] = '\n';
        if (used + len > chunk_cap) {
            ss_writer_write(&w, chunk, used); /* the first error sticks; commit reports it */
            used = 0;
        }
        memcpy(chunk + used, line, len);
        used += len;
    }
    ss_writer_write(&w, chunk, used);
    if (ss_writer_commit(&w) != SS_OK) status = synth_fail(path, ss_last_error_detail());
    ss_writer_free(&w);
    free(path);
    free(chunk);
    return status;
}

int synth_write_dataset(const char *dir, uint64_t seed, int n_train, int n_valid, int n_cls_train,
                        int n_cls_dev) {
    ss_rng root;
    if (n_train < 0 || n_valid < 0 || n_cls_train < 0 || n_cls_dev < 0)
        return synth_fail(dir, "line counts must be >= 0");
    ss_rng_seed(&root, seed);
    /* one stream per file: a count changes only its own file */
    if (synth_write_file(dir, "train.txt", ss_rng_split(&root, 1), n_train, 0) != 0 ||
        synth_write_file(dir, "valid.txt", ss_rng_split(&root, 2), n_valid, 0) != 0 ||
        synth_write_file(dir, "cls_train.tsv", ss_rng_split(&root, 3), n_cls_train, 1) != 0 ||
        synth_write_file(dir, "cls_dev.tsv", ss_rng_split(&root, 4), n_cls_dev, 1) != 0)
        return -1;
    return 0;
}
