// The depth pre-scans on inline strings: exact depths at small bounds, strings and comments that
// hold dots and brackets never counted, line numbers, bombs refused in one pass, malformed input
// that ends the scan without a crash or a loop, and the shipped files within the bounds.
#include "probes/util/nesting_depth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace nodehealth {
namespace {

// Texts built as std::string("x") += Repeat(...), not "x" + Repeat(...): GCC 12 at -O3 warns
// falsely (-Wrestrict, GCC bug 105329) about `const char* + std::string&&`.
std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The smallest bound `check` accepts `text` under: the text's depth.
template <class Check>
int DepthOf(std::string_view text, Check check) {
  int bound = 0;
  while (check(text, bound) && bound < 10000) ++bound;
  return bound;
}
int TomlDepth(std::string_view text) { return DepthOf(text, CheckTomlDepth); }
int JsonDepth(std::string_view text) { return DepthOf(text, CheckJsonDepth); }
int XmlDepth(std::string_view text) { return DepthOf(text, CheckXmlDepth); }

TEST(TomlDepthTest, CountsKeysHeadersArraysAndInlineTables) {
  EXPECT_EQ(TomlDepth(""), 0);
  EXPECT_EQ(TomlDepth("# only a comment\n\n"), 0);
  EXPECT_EQ(TomlDepth("a = 1\n"), 1);
  EXPECT_EQ(TomlDepth("a.b.c = 1\n"), 3);
  EXPECT_EQ(TomlDepth("a . b\t. c = 1\n"), 3);  // blanks around dots
  EXPECT_EQ(TomlDepth("[a.b]\n"), 2);
  EXPECT_EQ(TomlDepth("[a.b]\nc = 1\n"), 3);
  EXPECT_EQ(TomlDepth("[[a.b]]\nc.d = 1\n"), 5);  // the array of tables adds a level
  EXPECT_EQ(TomlDepth("[drain.codes.ib_port_errors]\naction = \"drain\"\n"), 4);
  EXPECT_EQ(TomlDepth("a = []\n"), 1);
  EXPECT_EQ(TomlDepth("a = [1, 2]\n"), 2);
  EXPECT_EQ(TomlDepth("a = [[1], [[]]]\n"), 3);
  EXPECT_EQ(TomlDepth("a = [[[1]]]\n"), 4);
  EXPECT_EQ(TomlDepth("a = {}\n"), 1);
  EXPECT_EQ(TomlDepth("a = {b = {c = 1}}\n"), 3);
  EXPECT_EQ(TomlDepth("a = {b.c.d = 1}\n"), 4);
  EXPECT_EQ(TomlDepth("a = [{b = [1]}]\n"), 4);
  // A later header starts again from the root; a shallower key after a deep one is shallower.
  EXPECT_EQ(TomlDepth("[a.b.c]\n[d]\ne = 1\n"), 3);
  EXPECT_EQ(TomlDepth("a = [\n  1,  # one\n  [2],\n]\nb = 2\n"), 3);
}

TEST(TomlDepthTest, StringsAndCommentsNeverCount) {
  const char* legal[] = {
      "a = \"x.y.z [[[ {{{ # not a comment\"\n",
      "a = 'C:\\dir\\[[[.x'\n",
      "a = \"escaped \\\" [[[ still a string\"\n",
      "a = \"\"\"\nline [[[\n\"\" two quotes {{{\n\\\"\"\" escaped closer\n\"\"\"\n",
      "a = '''\n[[[ a.b.c = 1\n'''\n",
      "a = \"\"\"x\"\"\"\"\"\nb = 1\n",  // five quotes: two belong to the content
      "a = ''''x'''''\n",                // literal with quotes next to the delimiters
      "# a.b.c.d.e = [[[[\n[t] # [a.b.c.d]\nk = 1 # k.l.m.n = 2\n",
      "\"a.b.c.d\" = 1\n",
      "'a.b.c.d.e' = 1\n",
      "a = \"\"\n",
      "a = ''\n",
      "a = [\"[[[\", '{{{', \"\"\"]]]\"\"\"]\n",
      "a = 1979-05-27 07:32:00Z\n",
      "a = 1.5e3\n",
      "a = {b = \"}}}.x.y\"}\n",
  };
  for (const char* text : legal) {
    EXPECT_EQ(CheckTomlDepth(text, 2), std::nullopt) << text;
  }
  EXPECT_EQ(TomlDepth("[\"a.b\" . 'c.d']\n"), 2);
  EXPECT_EQ(TomlDepth("a = \"\"\"\n[x.y.z.w]\n\"\"\"\nb.c.d = 1\n"), 3);
}

TEST(TomlDepthTest, ViolationsNameTheLineAndTheConstruct) {
  const struct {
    const char* text;
    int line;
    const char* what;
  } cases[] = {
      {"a.b.c = 1\n", 1, "a dotted key nests deeper than 2 levels"},
      {"x = 1\n\n[a.b.c]\n", 3, "a table header nests deeper than 2 levels"},
      {"[[a.b]]\n", 1, "an array-of-tables header nests deeper than 2 levels"},
      {"[a]\nb = 1\nc.d = 2\n", 3, "a dotted key nests deeper than 2 levels"},
      {"a = [\n  [\n    [1]]]\n", 3, "an array nests deeper than 2 levels"},
      {"a = {b = {c = 1}}\n", 1, "an inline table nests deeper than 2 levels"},
      {"s = \"\"\"\n\n\"\"\"\na.b.c = 1\n", 4, "a dotted key nests deeper than 2 levels"},
  };
  for (const auto& c : cases) {
    std::optional<DepthViolation> v = CheckTomlDepth(c.text, 2);
    ASSERT_TRUE(v) << c.text;
    EXPECT_EQ(v->line, c.line) << c.text;
    EXPECT_EQ(v->what, c.what) << c.text;
  }
}

TEST(TomlDepthTest, BombsAreRefusedWithTheDefaultBound) {
  const std::string dotted = std::string("a") += Repeat(".a", 49999) + " = 1\n";
  ASSERT_TRUE(CheckTomlDepth(dotted));
  EXPECT_EQ(CheckTomlDepth(dotted)->what, "a dotted key nests deeper than 64 levels");
  EXPECT_TRUE(CheckTomlDepth(std::string("a = ") += Repeat("[", 1 << 20)));
  EXPECT_TRUE(CheckTomlDepth(std::string("a = ") += Repeat("{b=", 300000)));
  EXPECT_TRUE(CheckTomlDepth(std::string("[") += Repeat("a.", 100000) + "a]"));
  // At the bound, nothing is refused.
  EXPECT_EQ(CheckTomlDepth(std::string("a") += Repeat(".a", 63) + " = 1\n"), std::nullopt);
  EXPECT_TRUE(CheckTomlDepth(std::string("a") += Repeat(".a", 64) + " = 1\n"));
}

TEST(TomlDepthTest, MalformedInputEndsTheScan) {
  // Not TOML: the scan may or may not object, but it returns (no crash, no endless loop) and
  // never goes deeper than its bound.
  const char* malformed[] = {"a = \"unterminated\n",
                             "a = \"\"\"never closed",
                             "[",
                             "[[",
                             "a = [",
                             "a = {",
                             "={={={={={",
                             "}}}]]]",
                             "a = [}]",
                             "a = {]}",
                             "a = \\",
                             "\"",
                             "a.\n= 1",
                             "a = [1 2 3 ,,, }",
                             "\xff\xfe = 1",
                             "a = '''"};
  for (const char* text : malformed) {
    (void)CheckTomlDepth(text, 3);
    (void)CheckTomlDepth(text, 0);
  }
  EXPECT_TRUE(CheckTomlDepth(Repeat("={", 100000), 64));
  SUCCEED();
}

TEST(TomlDepthTest, ShippedProfilesNestAtMostFourLevels) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NODEHEALTH_SOURCE_DIR "/profiles")) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    EXPECT_LE(TomlDepth(ReadAll(entry.path())), 4) << entry.path();
  }
  EXPECT_GT(files, 5);
  EXPECT_LE(TomlDepth(ReadAll(NODEHEALTH_SOURCE_DIR "/agent/nodehealth.example.toml")), 4);
}

TEST(JsonDepthTest, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_EQ(JsonDepth("1"), 0);
  EXPECT_EQ(JsonDepth("[]"), 1);
  EXPECT_EQ(JsonDepth("[[1], {\"a\": [2]}]"), 3);
  EXPECT_EQ(JsonDepth("{\"a\": \"[[[{{{\", \"b\": \"\\\"[[[\"}"), 1);
  EXPECT_EQ(JsonDepth("]]]][[1]]"), 2);  // stray closers are the parser's to report
  std::optional<DepthViolation> v = CheckJsonDepth("{\n\"a\":\n[[\n[1]]]}", 3);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->line, 4);
  EXPECT_EQ(v->what, "JSON nests deeper than 3 levels");
  EXPECT_TRUE(CheckJsonDepth(Repeat("[", 1 << 20)));
  EXPECT_EQ(CheckJsonDepth(Repeat("[", 64) + Repeat("]", 64)), std::nullopt);
  EXPECT_EQ(CheckJsonDepth("\"unterminated [[[[", 1), std::nullopt);
}

TEST(XmlDepthTest, CountsElementsNotCommentsCdataOrAttributes) {
  EXPECT_EQ(XmlDepth("<?xml version=\"1.0\"?>\n<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n<a/>"),
            0);
  EXPECT_EQ(XmlDepth("<a><b><c/></b></a>"), 2);
  EXPECT_EQ(XmlDepth("<a><!-- <b><c><d> --><![CDATA[<x><y><z>]]><?pi <q>?></a>"), 1);
  EXPECT_EQ(XmlDepth("<a x=\"<b><c>\" y='/>'><b z=\">\"/></a>"), 1);
  EXPECT_EQ(XmlDepth("<a></a><b><c></c></b>"), 2);
  std::optional<DepthViolation> v = CheckXmlDepth("<a>\n<b>\n<c>\n</c></b></a>", 2);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->line, 3);
  EXPECT_EQ(v->what, "XML nests deeper than 2 levels");
  EXPECT_TRUE(CheckXmlDepth(Repeat("<o>", 100000)));
  EXPECT_EQ(CheckXmlDepth("<a x=\"unterminated", 1), std::nullopt);
}

TEST(XmlDepthTest, EntityDeclarationsAreRefused) {
  std::optional<DepthViolation> v =
      CheckXmlDepth("<?xml version=\"1.0\"?>\n<!DOCTYPE t [\n<!ENTITY a \"aaaa\">\n]>\n<t>&a;</t>");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->line, 2);
  EXPECT_EQ(v->what, "XML entity declarations and internal DTD subsets are refused");
}

TEST(XmlDepthTest, HwlocRecordedMachinesNestFarBelowTheBound) {
  int files = 0;
  int deepest = 0;
  const std::string peer = NODEHEALTH_PEER_FIXTURES_DIR "/hwloc/tests/hwloc";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(peer)) {
    if (entry.path().extension() != ".xml") continue;
    ++files;
    const std::string text = ReadAll(entry.path());
    EXPECT_EQ(CheckXmlDepth(text), std::nullopt) << entry.path();
    deepest = std::max(deepest, XmlDepth(text));
  }
  EXPECT_GT(files, 10);
  EXPECT_LE(deepest, 11) << "nesting_depth.h says 11: update it";
  std::cout << "[ xml      ] " << files << " hwloc XMLs, deepest " << deepest << " levels\n";
}

}  // namespace
}  // namespace nodehealth
